"""Forms of the agent desktop. They validate input shape only; rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.choices import Salutation
from crm.phones import split_phone_list
from telephony.models import Seat
from telephony.services.desktop import NOT_READY_REASONS, free_seats


class SeatChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.extension} {obj.label}".strip()


class SeatLoginForm(forms.Form):
    seat = SeatChoiceField(label=_("Seat"), queryset=Seat.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seat"].queryset = free_seats()


class NotReadyForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[(r.value, r.label) for r in NOT_READY_REASONS],
    )


class TransferForm(forms.Form):
    seat = SeatChoiceField(
        label=_("To seat"),
        queryset=Seat.objects.none(),
        required=False,
        widget=forms.Select(attrs={"aria-label": _("To seat"), "id": "transfer-seat"}),
    )
    queue = forms.ChoiceField(
        label=_("To queue"),
        required=False,
        widget=forms.Select(attrs={"aria-label": _("To queue"), "id": "transfer-queue"}),
    )

    def __init__(self, *args, seats=None, queues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seat"].queryset = seats if seats is not None else Seat.objects.none()
        self.fields["queue"].choices = [("", "—"), *((q, q) for q in queues)]

    def clean(self):
        data = super().clean()
        if bool(data.get("seat")) == bool(data.get("queue")):
            raise forms.ValidationError(_("Choose one seat or one queue to transfer to."))
        return data


class PopCustomerForm(forms.Form):
    """A new customer from the pop: the caller's number is added by the server (the page
    may only show it masked); more numbers may be typed."""

    name = forms.CharField(label=_("Name"), max_length=50)
    salutation = forms.ChoiceField(
        label=_("Salutation"), choices=Salutation.choices, required=False
    )
    more_phones = forms.CharField(
        label=_("Other numbers"),
        max_length=200,
        required=False,
        help_text=_("Separate several numbers with ; or /."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def phone_list(self) -> list[str]:
        return split_phone_list(self.cleaned_data.get("more_phones", ""))
