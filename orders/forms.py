"""Forms of order entry and review. They check the shape of the input; the rules (prices,
limits, gift rules, stock, transitions) live in the services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms.customers import AddressFieldsMixin
from crm.models import Customer
from orders.choices import PaymentMethod, RejectReason
from orders.services.entry import MAX_LINES, MAX_QUANTITY, LineInput
from tvshop.catalog.models import Courier

NEW_ADDRESS = "new"
NEW_ADDRESS_FIELDS = ("province", "city", "district", "street", "postal_code", "recipient", "phone")


def parse_lines(data) -> tuple[list[LineInput], list[str]]:
    """The ``line_product``/``line_qty`` pairs the entry form posts, and any problems."""
    products = data.getlist("line_product") if hasattr(data, "getlist") else []
    quantities = data.getlist("line_qty") if hasattr(data, "getlist") else []
    lines, problems = [], []
    if len(products) != len(quantities) or len(products) > MAX_LINES * 2:
        return [], [str(_("The product list is garbled; reload the page."))]
    for raw_product, raw_qty in zip(products, quantities, strict=True):
        try:
            product_id, qty = int(raw_product), int(raw_qty)
        except (TypeError, ValueError):
            problems.append(str(_("Quantities are whole numbers.")))
            continue
        if not 1 <= qty <= MAX_QUANTITY:
            problems.append(
                str(_("Quantities are whole numbers from 1 to %(max)s.") % {"max": MAX_QUANTITY})
            )
            continue
        lines.append(LineInput(product_id=product_id, quantity=qty))
    return lines, problems


def parse_ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


class OrderEntryForm(AddressFieldsMixin, forms.Form):
    """Everything of an order except its lines and gifts (posted as lists, see
    ``parse_lines``/``gift_ids``). ``address`` is one of the customer's addresses or
    ``new`` with the province → city → district fields filled."""

    address_required = False

    call = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    address = forms.ChoiceField(label=_("Delivery address"), widget=forms.RadioSelect)
    payment_method = forms.ChoiceField(
        label=_("Payment method"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.COD,
        widget=forms.RadioSelect,
    )
    discount = forms.DecimalField(
        label=_("Discount (¥)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    remark = forms.CharField(
        label=_("Remark"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.addresses = list(
            customer.addresses.select_related("province", "city", "district").order_by(
                "-is_default", "-id"
            )
        )
        self.fields["address"].choices = [
            *((str(a.pk), str(a)) for a in self.addresses),
            (NEW_ADDRESS, _("A new address")),
        ]
        if not self.is_bound:
            self.initial.setdefault(
                "address", str(self.addresses[0].pk) if self.addresses else NEW_ADDRESS
            )
        self._add_address_fields()
        self.lines: list[LineInput] = []

    def clean(self):
        cleaned = super().clean()
        self.lines, problems = parse_lines(self.data)
        for problem in problems:
            self.add_error(None, problem)
        if not self.lines and not problems:
            self.add_error(None, _("Add at least one product."))
        if cleaned.get("address") == NEW_ADDRESS:
            for key in ("province", "city", "district", "street"):
                if not cleaned.get(key) and key not in self.errors:
                    self.add_error(key, _("Required for a new address."))
        return cleaned

    def gift_ids(self) -> list[int]:
        return parse_ids(self.data.getlist("gifts"))

    def chosen_address(self):
        value = self.cleaned_data.get("address")
        return next((a for a in self.addresses if str(a.pk) == value), None)

    def new_address(self) -> dict | None:
        if self.cleaned_data.get("address") != NEW_ADDRESS:
            return None
        data = {k: self.cleaned_data.get(k) for k in NEW_ADDRESS_FIELDS}
        for key in ("street", "postal_code", "recipient", "phone"):
            data[key] = data[key] or ""
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "lines": self.lines,
            "gifts": self.gift_ids(),
            "address": self.chosen_address(),
            "new_address": self.new_address(),
            "payment_method": data["payment_method"],
            "discount": data.get("discount") or Decimal("0"),
            "remark": data.get("remark") or "",
        }


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class SecondApproveForm(ApproveForm):
    courier = forms.ModelChoiceField(
        label=_("Courier"), queryset=Courier.objects.filter(active=True), required=True
    )
    cod_amount = forms.DecimalField(
        label=_("COD amount (¥)"), min_value=Decimal("0"), max_digits=12, decimal_places=2
    )


class RejectForm(forms.Form):
    BACK, CANCEL = "back", "cancel"
    reason = forms.ChoiceField(label=_("Reason"), choices=RejectReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    outcome = forms.ChoiceField(
        label=_("Then"),
        choices=[(BACK, _("Send back to the agent")), (CANCEL, _("Cancel the order"))],
        initial=BACK,
        widget=forms.RadioSelect,
    )


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RejectReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
