"""Forms of the supervision pages: the recordings search and a supervision action."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telephony.supervision.services import SupervisionMode


class RecordingSearchForm(forms.Form):
    """Search recordings by agent, time range, customer, order number and caller."""

    agent = forms.ModelChoiceField(
        label=_("Agent"), queryset=get_user_model().objects.none(), required=False
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    customer = forms.IntegerField(label=_("Customer id"), required=False, min_value=1)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=100)
    order = forms.CharField(label=_("Order number"), required=False, max_length=20)
    caller = forms.CharField(label=_("Phone number"), required=False, max_length=32)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every user (a call center has hundreds, not millions; former agents included).
        self.fields["agent"].queryset = get_user_model().objects.order_by("username")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end is before the start."))
        return data

    def search_kwargs(self) -> dict:
        """Arguments for :func:`~telephony.supervision.selectors.recordings_search`."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def at_midnight(day: dt.date | None) -> dt.datetime | None:
            if day is None:
                return None
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

        end = data.get("date_to")
        return {
            "agent_id": data["agent"].pk if data.get("agent") else None,
            "start": at_midnight(data.get("date_from")),
            "end": at_midnight(end + dt.timedelta(days=1)) if end else None,
            "customer_id": data.get("customer"),
            "customer_name": data.get("customer_name") or "",
            "order_number": data.get("order") or "",
            "caller": data.get("caller") or "",
        }


class SupervisionForm(forms.Form):
    mode = forms.ChoiceField(label=_("Action"), choices=SupervisionMode.choices)
