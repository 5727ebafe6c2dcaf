from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telephony.routing.choices import WEEKDAYS
from telephony.routing.models import POLICY_FIELDS, RoutingPolicy, parse_hours


class PolicyForm(forms.ModelForm):
    """The policy's fields plus one "HH:MM-HH:MM" field per weekday."""

    class Meta:
        model = RoutingPolicy
        fields = [f for f in POLICY_FIELDS if f != "work_hours"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hours = (self.instance.work_hours or {}) if self.instance else {}
        for day, label in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label,
                required=False,
                max_length=11,
                initial=hours.get(str(day), ""),
                help_text=_("e.g. 08:00-22:00; empty = closed"),
            )

    def clean(self):
        data = super().clean()
        hours = {}
        for day, _label in WEEKDAYS:
            text = (data.get(f"hours_{day}") or "").strip()
            try:
                parse_hours(text)
            except ValueError:
                self.add_error(f"hours_{day}", _("Enter hours as HH:MM-HH:MM, e.g. 08:00-22:00."))
                continue
            hours[str(day)] = text
        data["work_hours"] = hours
        if data.get("recording") == "random" and not data.get("recording_share_pct"):
            self.add_error("recording_share_pct", _("Give the share of calls to record."))
        return data

    def policy_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}


class HolidayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=100)
