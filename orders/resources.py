"""Exports of payment records (django-import-export), xlsx and csv.

Phones are written as the exporting user may see them (``crm.masking``), and every cell a
spreadsheet would run as a formula (``= + - @``, tab, CR) is prefixed with ``'`` by the same
helper as the customer export. Negative amounts (refunds) are numbers, not text, so they are
not touched.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from crm.masking import phone_for_user
from crm.resources import FORMATS, neutralize
from orders.models import Payment

MONEY_ATTRIBUTES = {"amount", "order__total", "order__paid_amount"}


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


class PaymentResource(resources.ModelResource):
    order_number = fields.Field(column_name=_("order number"), attribute="order__number")
    customer = fields.Field(column_name=_("customer"))
    phone = fields.Field(column_name=_("contact phone"))
    payer = fields.Field(column_name=_("payer"), attribute="payer")
    channel = fields.Field(column_name=_("method"))
    amount = fields.Field(column_name=_("amount"), attribute="amount")
    paid_at = fields.Field(column_name=_("paid at"))
    reference = fields.Field(column_name=_("reference"), attribute="reference")
    note = fields.Field(column_name=_("note"), attribute="note")
    order_total = fields.Field(column_name=_("order total"), attribute="order__total")
    order_paid = fields.Field(column_name=_("order paid"), attribute="order__paid_amount")
    payment_status = fields.Field(column_name=_("payment status"))
    station = fields.Field(column_name=_("TV station"))
    courier = fields.Field(column_name=_("courier"))
    recorded_by = fields.Field(column_name=_("recorded by"))

    class Meta:
        model = Payment
        fields = export_order = (
            "order_number",
            "customer",
            "phone",
            "payer",
            "channel",
            "amount",
            "paid_at",
            "reference",
            "note",
            "order_total",
            "order_paid",
            "payment_status",
            "station",
            "courier",
            "recorded_by",
        )

    def __init__(self, *, user, **kwargs):
        super().__init__(**kwargs)
        self.user = user

    def dehydrate_customer(self, p):
        return p.order.customer.name

    def dehydrate_phone(self, p):
        return phone_for_user(p.order.phone, self.user)

    def dehydrate_channel(self, p):
        return str(p.get_channel_display())

    def dehydrate_paid_at(self, p):
        return _local(p.paid_at)

    def dehydrate_payment_status(self, p):
        return str(p.order.get_payment_status_display())

    def dehydrate_station(self, p):
        return p.order.station.name if p.order.station_id else ""

    def dehydrate_courier(self, p):
        return p.order.courier.name if p.order.courier_id else ""

    def dehydrate_recorded_by(self, p):
        user = p.recorded_by
        return (getattr(user, "full_name", "") or user.get_username()) if user else ""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if field.attribute in MONEY_ATTRIBUTES:
            return value  # our own Decimal: a refund's "-" is a sign, not a formula
        return neutralize(value)


def export_payments(queryset, *, user, fmt: str) -> tuple[bytes, str]:
    """(file content, content type) of the payment records, phones masked for ``user``."""
    dataset = PaymentResource(user=user).export(queryset=queryset)
    file_format = FORMATS[fmt]()
    data = file_format.export_data(dataset)
    if isinstance(data, str):
        data = ("\ufeff" + data).encode("utf-8")
    return data, file_format.get_content_type()
