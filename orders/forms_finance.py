"""Forms of the finance pages: record a payment, record a return, merge orders."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import PaymentChannel, ReturnReason

_LOCAL = "%Y-%m-%dT%H:%M"


class PaymentForm(forms.Form):
    payer = forms.CharField(label=_("Payer"), max_length=100)
    channel = forms.ChoiceField(label=_("Method"), choices=PaymentChannel.choices)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    paid_at = forms.DateTimeField(
        label=_("Paid at"),
        input_formats=[_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("Bank or online transaction number; each is recorded once."),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    @staticmethod
    def initial_for(order) -> dict:
        due = max(order.total - order.paid_amount, Decimal("0.00"))
        return {
            "payer": order.recipient,
            "amount": due,
            "paid_at": timezone.localtime().replace(second=0, microsecond=0),
            "channel": PaymentChannel.COD if order.payment_method == "cod" else "",
        }


class ReturnForm(forms.Form):
    """Reason, note, refund and one quantity field per returnable line/gift."""

    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    refund_amount = forms.DecimalField(
        label=_("Refund"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        initial=Decimal("0.00"),
    )
    refund_channel = forms.ChoiceField(
        label=_("Refund method"),
        choices=[("", "—"), *PaymentChannel.choices],
        required=False,
    )

    def __init__(self, *args, items: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        for row in items:
            self.fields[row["key"]] = forms.IntegerField(
                label=str(row["item"]),
                min_value=0,
                max_value=max(row["left"], 0),
                required=False,
                initial=0,
                widget=forms.NumberInput(attrs={"class": "qty", "min": 0, "max": row["left"]}),
            )
            row["field"] = self[row["key"]]

    def chosen_items(self) -> list[tuple]:
        return [
            (row["item"], self.cleaned_data[row["key"]])
            for row in self.items
            if self.cleaned_data.get(row["key"])
        ]


class MergeForm(forms.Form):
    orders = forms.TypedMultipleChoiceField(label=_("Orders to merge in"), coerce=int, choices=())

    def __init__(self, *args, siblings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["orders"].choices = [(o.pk, o.number) for o in siblings]
