from django.db import models
from django.utils.translation import gettext_lazy as _


class ColumnSource(models.TextChoices):
    """What fills one column of a courier's shipping sheet."""

    ORDER_NUMBER = "order_number", _("Our order number (customer reference)")
    RECIPIENT = "recipient", _("Recipient")
    PHONE = "phone", _("Recipient phone")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street address")
    FULL_ADDRESS = "full_address", _("Full address (province city district street)")
    GOODS = "goods", _("Goods description (lines and gifts)")
    PIECES = "pieces", _("Piece count")
    WEIGHT = "weight", _("Weight (kg)")
    COD_AMOUNT = "cod_amount", _("COD amount")
    DECLARED_VALUE = "declared_value", _("Declared value")
    TOTAL = "total", _("Order total")
    REMARK = "remark", _("Remark")
    STATION = "station", _("TV station")
    ORDER_DATE = "order_date", _("Order date")
    FIXED = "fixed", _("Fixed value")
    EMPTY = "empty", _("Empty")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel (.xlsx)"
    CSV = "csv", "CSV (UTF-8)"


class CourierStatus(models.TextChoices):
    """The one set courier statuses are normalised to (by ``StatusMapping``)."""

    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    REFUSED = "refused", _("Refused")
    RETURNING = "returning", _("Returning")
    RETURNED = "returned", _("Returned")
    PROBLEM = "problem", _("Problem")


class ShipmentStatus(models.TextChoices):
    EXPORTED = "exported", _("Exported, no waybill yet")
    WAYBILL = "waybill", _("Waybill assigned")
    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    REFUSED = "refused", _("Refused")
    RETURNING = "returning", _("Returning")
    RETURNED = "returned", _("Returned")
    PROBLEM = "problem", _("Problem")


class JobState(models.TextChoices):
    """Where a batch or an import stands (it runs in Celery)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    CHECKED = "checked", _("Checked, ready to apply")
    APPLYING = "applying", _("Applying")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    REISSUED = "reissued", _("Re-issued (void)")


class ImportKind(models.TextChoices):
    WAYBILL = "waybill", _("Waybill numbers")
    STATUS = "status", _("Delivery statuses")
    REMITTANCE = "remittance", _("COD remittance")


class RemittanceResult(models.TextChoices):
    """How one remittance line compares with the COD expected on its order."""

    MATCHED = "matched", _("Matched")
    SHORT = "short", _("Short (less than expected)")
    OVER = "over", _("Over (more than expected)")
    DUPLICATE = "duplicate", _("Duplicate waybill")
    UNKNOWN = "unknown", _("Unknown waybill or order")
    REFUSED_CHARGED = "refused_charged", _("Refused but charged")
    MISSING = "missing", _("Delivered but not remitted")
    INVALID = "invalid", _("Unreadable row")


# Which order status a normalised courier status moves the order to (None: no move).
ORDER_STATUS_FOR = {
    CourierStatus.PICKED_UP: "shipped",
    CourierStatus.IN_TRANSIT: "shipped",
    CourierStatus.OUT_FOR_DELIVERY: "shipped",
    CourierStatus.DELIVERED: "delivered",
    CourierStatus.REFUSED: "refused",
    CourierStatus.RETURNING: "refused",
    CourierStatus.RETURNED: "refused",
    CourierStatus.PROBLEM: None,
}
