from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    """The order pipeline. Only ``orders.services.workflow.order_transition`` assigns it."""

    SUBMITTED = "submitted", _("Submitted")
    REJECTED = "rejected", _("Sent back to agent")
    FIRST_APPROVED = "first_approved", _("First review passed")
    SECOND_APPROVED = "second_approved", _("Ready to ship")
    EXPORTED = "exported", _("Exported")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    REFUSED = "refused", _("Refused")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")
    MERGED = "merged", _("Merged into another order")


class PaymentMethod(models.TextChoices):
    """How the customer pays for the order."""

    COD = "cod", _("Cash on delivery")
    PREPAID = "prepaid", _("Prepaid")


class PaymentChannel(models.TextChoices):
    """How one payment record's money came in (结算方式)."""

    COD = "cod", _("COD through the courier")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ONLINE = "online", _("Online payment")


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PART_PAID = "part_paid", _("Part-paid")
    PAID = "paid", _("Paid")


class ReviewStage(models.IntegerChoices):
    FIRST = 1, _("First review")
    SECOND = 2, _("Second review")


class RejectReason(models.TextChoices):
    ADDRESS_INCOMPLETE = "address_incomplete", _("Address incomplete or wrong")
    PHONE_INVALID = "phone_invalid", _("Phone number invalid or unreachable")
    DUPLICATE = "duplicate", _("Duplicate order")
    CUSTOMER_CANCELLED = "customer_cancelled", _("Customer no longer wants it")
    PRICE_WRONG = "price_wrong", _("Price or discount wrong")
    GIFT_WRONG = "gift_wrong", _("Gift wrong or out of stock")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud or malicious order")
    OTHER = "other", _("Other")


class GiftRuleKind(models.TextChoices):
    BY_PRODUCT = "product", _("By product bought")
    BY_AMOUNT = "amount", _("By order amount")
    BY_POINTS = "points", _("Redeemed with points")


class ReturnReason(models.TextChoices):
    REFUSED = "refused", _("Refused on delivery")
    QUALITY = "quality", _("Quality problem")
    WRONG_ITEM = "wrong_item", _("Wrong item delivered")
    CHANGED_MIND = "changed_mind", _("Customer changed their mind")
    DAMAGED = "damaged", _("Damaged in transit")
    OTHER = "other", _("Other")
