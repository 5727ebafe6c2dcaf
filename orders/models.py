"""Orders taken on the phone, with their lines, gifts, review history, payments and returns.

The shape (money in Decimal, one courier per order, the delivery address copied onto the
order so that later edits of the customer's address book do not rewrite history) is the
contract the other apps build on: logistics exports ``SECOND_APPROVED`` orders and moves
them along through ``orders.services.workflow.order_transition``; statistics join orders
to calls through ``call_uuid`` (``telephony`` depends on ``orders``, not the reverse).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Address, Customer, Division
from orders.choices import (
    GiftRuleKind,
    OrderStatus,
    PaymentChannel,
    PaymentMethod,
    PaymentStatus,
    RejectReason,
    ReturnReason,
    ReviewStage,
)
from tvshop.catalog.models import Courier, Gift, Product
from tvshop.media.models import AiringSlot, Hotline, Station

USER = settings.AUTH_USER_MODEL
ZERO = Decimal("0.00")
MONEY = {"max_digits": 12, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]

# The two review queues (orders.selectors.review_queue). Their indexes are partial on these
# statuses and end in (submitted_at, id), the queues' order, so a page (keyset, see
# orders/paging.py) is read straight off an index for each common filter.
IN_REVIEW = models.Q(status__in=["submitted", "first_approved"])


def _queue_index(name: str, *columns: str, flag: str = "") -> models.Index:
    condition = IN_REVIEW & models.Q(**{flag: True}) if flag else IN_REVIEW
    return models.Index(
        fields=["status", *columns, "submitted_at", "id"], condition=condition, name=name
    )


class Order(models.Model):
    """One order (订单): one customer, one delivery address, one payment method, one courier."""

    number = models.CharField(_("order number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=OrderStatus.choices,
        default=OrderStatus.SUBMITTED,
        db_index=True,
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    # Where it came from: the call (by its switch uuid; no foreign key, see the module
    # docstring), the hotline dialled, its station and the airing slot running then.
    call_uuid = models.CharField(_("call id"), max_length=64, blank=True, db_index=True)
    hotline = models.ForeignKey(
        Hotline, verbose_name=_("hotline"), null=True, blank=True, on_delete=models.PROTECT
    )
    station = models.ForeignKey(
        Station, verbose_name=_("TV station"), null=True, blank=True, on_delete=models.PROTECT
    )
    airing_slot = models.ForeignKey(
        AiringSlot,
        verbose_name=_("airing slot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    agent = models.ForeignKey(
        USER, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="orders_taken"
    )

    # Delivery: the chosen address, and a copy of it as it was when the order was saved.
    address = models.ForeignKey(
        Address, verbose_name=_("address"), null=True, blank=True, on_delete=models.SET_NULL
    )
    recipient = models.CharField(_("recipient"), max_length=50)
    phone = models.CharField(_("contact phone"), max_length=20)
    province = models.ForeignKey(
        Division, verbose_name=_("province"), on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(
        Division, verbose_name=_("city"), on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(
        Division, verbose_name=_("district"), on_delete=models.PROTECT, related_name="+"
    )
    street = models.CharField(_("street address"), max_length=200)
    courier = models.ForeignKey(
        Courier, verbose_name=_("courier"), null=True, blank=True, on_delete=models.PROTECT
    )

    # Money, all Decimal: goods = Σ line amounts; total = goods − discount + freight.
    payment_method = models.CharField(
        _("payment method"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.COD
    )
    goods_amount = models.DecimalField(_("goods"), default=ZERO, validators=NON_NEGATIVE, **MONEY)
    discount_amount = models.DecimalField(
        _("discount"), default=ZERO, validators=NON_NEGATIVE, **MONEY
    )
    freight = models.DecimalField(_("freight"), default=ZERO, validators=NON_NEGATIVE, **MONEY)
    total = models.DecimalField(_("total"), default=ZERO, validators=NON_NEGATIVE, **MONEY)
    cod_amount = models.DecimalField(
        _("COD amount"), default=ZERO, validators=NON_NEGATIVE, **MONEY
    )
    paid_amount = models.DecimalField(_("paid"), default=ZERO, **MONEY)
    payment_status = models.CharField(
        _("payment status"),
        max_length=10,
        choices=PaymentStatus.choices,
        default=PaymentStatus.UNPAID,
        db_index=True,
    )
    points_spent = models.PositiveIntegerField(_("points spent"), default=0)
    points_awarded = models.PositiveIntegerField(_("points awarded"), default=0)

    # Flags the reviewers filter on, set when the order is saved.
    is_vip = models.BooleanField(_("VIP"), default=False)
    is_new_customer = models.BooleanField(_("new customer"), default=False)
    is_duplicate = models.BooleanField(_("possible duplicate"), default=False)
    is_large_amount = models.BooleanField(_("large amount"), default=False)
    address_incomplete = models.BooleanField(_("address incomplete"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("possible duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )

    first_reviewer = models.ForeignKey(
        USER,
        verbose_name=_("first reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_reviewed_at = models.DateTimeField(_("first review"), null=True, blank=True)
    second_reviewer = models.ForeignKey(
        USER,
        verbose_name=_("second reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    second_reviewed_at = models.DateTimeField(_("second review"), null=True, blank=True)
    reject_reason = models.CharField(
        _("reason sent back"), max_length=30, choices=RejectReason.choices, blank=True
    )
    reject_note = models.CharField(_("note sent back"), max_length=500, blank=True)

    remark = models.CharField(_("remark"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    status_at = models.DateTimeField(_("status since"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="order_queue_idx"),
            models.Index(fields=["customer", "status"], name="order_customer_status_idx"),
            _queue_index("order_queue_keyset_idx"),
            _queue_index("order_queue_station_idx", "station"),
            _queue_index("order_queue_agent_idx", "agent"),
            _queue_index("order_queue_province_idx", "province"),
            _queue_index("order_queue_vip_idx", flag="is_vip"),
            _queue_index("order_queue_dup_idx", flag="is_duplicate"),
            _queue_index("order_queue_large_idx", flag="is_large_amount"),
            _queue_index("order_queue_addr_idx", flag="address_incomplete"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=0) & models.Q(cod_amount__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(first_reviewer__isnull=True)
                | models.Q(second_reviewer__isnull=True)
                | ~models.Q(first_reviewer=models.F("second_reviewer")),
                name="order_two_different_reviewers",
            ),
        ]
        permissions = [
            ("review_first", _("Can do the first review of orders")),
            ("review_second", _("Can do the second review of orders")),
            ("cancel_order", _("Can cancel orders")),
            ("merge_order", _("Can merge orders")),
            ("export_order", _("Can export order lists")),
            ("give_discount", _("Can give a discount within the permitted limit")),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A product on an order: catalog price when ordered, the price charged, quantity."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT)
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    list_price = models.DecimalField(_("list price"), validators=NON_NEGATIVE, **MONEY)
    unit_price = models.DecimalField(_("unit price"), validators=NON_NEGATIVE, **MONEY)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    amount = models.DecimalField(_("amount"), validators=NON_NEGATIVE, **MONEY)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderline_qty_pos")
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class GiftRule(models.Model):
    """When a gift goes with an order: buying a product, reaching an amount, or points."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=GiftRuleKind.choices)
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), on_delete=models.PROTECT)
    gift_quantity = models.PositiveIntegerField(
        _("gifts given"), default=1, validators=[MinValueValidator(1)]
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product bought"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("For rules by product."),
    )
    min_quantity = models.PositiveIntegerField(
        _("minimum quantity"), default=1, validators=[MinValueValidator(1)]
    )
    min_amount = models.DecimalField(
        _("minimum order amount"),
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text=_("For rules by order amount."),
        **MONEY,
    )
    points_cost = models.PositiveIntegerField(
        _("points needed"), default=0, help_text=_("For redemption rules.")
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("gift rule")
        verbose_name_plural = _("gift rules")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class OrderGift(models.Model):
    """A gift on an order, at zero price; its stock is reserved while the order lives."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="gifts"
    )
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), on_delete=models.PROTECT)
    rule = models.ForeignKey(
        GiftRule, verbose_name=_("gift rule"), null=True, blank=True, on_delete=models.SET_NULL
    )
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    value = models.DecimalField(_("value"), default=ZERO, validators=NON_NEGATIVE, **MONEY)
    points_spent = models.PositiveIntegerField(_("points spent"), default=0)

    class Meta:
        verbose_name = _("order gift")
        verbose_name_plural = _("order gifts")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class OrderStatusChange(models.Model):
    """One move of an order's status: who, when, from, to, why (the review trail)."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=OrderStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=OrderStatus.choices)
    stage = models.PositiveSmallIntegerField(
        _("review stage"), choices=ReviewStage.choices, null=True, blank=True
    )
    actor = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order} {self.from_status}→{self.to_status}"


class Payment(models.Model):
    """A payment record (收款记录): money received for an order, or refunded (negative)."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    payer = models.CharField(_("payer"), max_length=100)
    channel = models.CharField(_("method"), max_length=20, choices=PaymentChannel.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_at = models.DateTimeField(_("paid at"), db_index=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        USER, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment record")
        verbose_name_plural = _("payment records")
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="payment_not_zero"),
            models.UniqueConstraint(
                fields=["channel", "reference"],
                condition=~models.Q(reference=""),
                name="payment_reference_unique_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.amount}"


class OrderReturn(models.Model):
    """A return (退单): what comes back, why, and the refund owed."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="returns"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReturnReason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    refund_amount = models.DecimalField(_("refund"), default=ZERO, validators=NON_NEGATIVE, **MONEY)
    refund_payment = models.OneToOneField(
        Payment,
        verbose_name=_("refund record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refund_for",
    )
    created_by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order} {self.get_reason_display()}"


class OrderReturnItem(models.Model):
    """A product line or a gift coming back with a return."""

    order_return = models.ForeignKey(
        OrderReturn, verbose_name=_("return"), on_delete=models.CASCADE, related_name="items"
    )
    line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), null=True, blank=True, on_delete=models.PROTECT
    )
    gift = models.ForeignKey(
        OrderGift, verbose_name=_("order gift"), null=True, blank=True, on_delete=models.PROTECT
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("returned item")
        verbose_name_plural = _("returned items")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(line__isnull=False) & models.Q(gift__isnull=True))
                | (models.Q(line__isnull=True) & models.Q(gift__isnull=False)),
                name="returnitem_line_xor_gift",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_return} × {self.quantity}"


class DiscountLimit(models.Model):
    """The largest discount (percent of the goods) a role may give at order entry.

    Administrators edit it in the admin. A user's limit is the highest one among their
    roles; users without ``orders.give_discount`` may give none, whatever their roles say.
    """

    group = models.OneToOneField(
        "auth.Group",
        verbose_name=_("role"),
        on_delete=models.CASCADE,
        related_name="order_discount_limit",
    )
    max_percent = models.DecimalField(
        _("maximum discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = _("discount limit")
        verbose_name_plural = _("discount limits")
        ordering = ["group__name"]

    def __str__(self) -> str:
        return f"{self.group} {self.max_percent}%"
