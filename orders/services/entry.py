"""Order entry: taking an order on the phone, fixing a rejected one, adding lines to an
open order instead of creating a duplicate, and cancelling.

What ``order_create`` guarantees, in one transaction with one audit entry:

* only products on sale, at the catalog price; a discount only within the agent's limit
  (``discount_limit_percent``); every amount a ``Decimal`` rounded to the cent:
  goods = Σ lines, total = goods − discount + freight, COD = total (COD) or 0 (prepaid);
* gifts only by rules that apply, their stock reserved and their points spent
  (``orders.services.gifts``); blacklisted customers are refused;
* the call, hotline, station and the airing slot running at that moment are recorded;
* reviewer flags are set: VIP, new customer, possible duplicate, large amount, address
  incomplete.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Address, Customer
from crm.services.customers import address_add
from orders import hooks
from orders.choices import OrderStatus, PaymentMethod
from orders.models import DiscountLimit, Order, OrderLine, OrderStatusChange
from orders.services.gifts import gift_plan, gifts_release, gifts_reserve
from orders.services.workflow import order_transition
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.catalog.models import Product
from tvshop.errors import Conflict, DomainError, Forbidden
from tvshop.media.models import AiringSlot, Hotline, Station

S = OrderStatus
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_QUANTITY = 999
MAX_LINES = 30
# Not yet shipped: a second order for the same customer, phone or address is suspicious.
UNSHIPPED = (S.SUBMITTED, S.REJECTED, S.FIRST_APPROVED, S.SECOND_APPROVED, S.EXPORTED)
# Lines may still be added (the order has not gone to logistics yet).
OPEN_FOR_LINES = (S.SUBMITTED, S.REJECTED, S.FIRST_APPROVED, S.SECOND_APPROVED)
ORDER_NUMBER_SEQUENCE = "orders_order_number_seq"
_HAS_DIGIT = re.compile(r"\d")


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    product_id: int
    quantity: int


@dataclass
class PricedLines:
    """Lines checked against the catalog: products on sale, catalog prices."""

    rows: list[tuple[Product, int, Decimal]]  # product, quantity, amount
    goods: Decimal
    weight_kg: Decimal

    def quantities(self) -> dict[int, int]:
        return {product.pk: qty for product, qty, _amount in self.rows}


# --- building blocks (also used by the entry form's live summary) -----------------------
def lines_price(lines: list[LineInput]) -> PricedLines:
    """Check and price the lines; ``DomainError`` on the ``lines`` field otherwise.
    The same product twice is one line with the quantities added."""
    if not lines:
        message = _("Add at least one product.")
        raise DomainError(message, fields={"lines": [message]}, code="no_lines")
    merged: dict[int, int] = {}
    for line in lines:
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= MAX_QUANTITY:
            message = _("Quantities are whole numbers from 1 to %(max)s.") % {"max": MAX_QUANTITY}
            raise DomainError(message, fields={"lines": [message]}, code="quantity")
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if len(merged) > MAX_LINES:
        message = _("At most %(max)s products per order.") % {"max": MAX_LINES}
        raise DomainError(message, fields={"lines": [message]}, code="too_many_lines")
    products = Product.objects.in_bulk(list(merged))
    problems = []
    for pid in merged:
        product = products.get(pid)
        if product is None:
            problems.append(_("Product #%(id)s does not exist.") % {"id": pid})
        elif not product.on_sale:
            problems.append(_("%(product)s is not on sale.") % {"product": product.name})
    if problems:
        raise DomainError(" ".join(problems), fields={"lines": problems}, code="not_on_sale")
    rows = [(products[pid], qty, money(products[pid].price * qty)) for pid, qty in merged.items()]
    return PricedLines(
        rows=rows,
        goods=money(sum((amount for _p, _q, amount in rows), ZERO)),
        weight_kg=sum((p.weight_kg * q for p, q, _a in rows), Decimal("0")),
    )


def discount_limit_percent(user) -> Decimal:
    """The highest discount (percent of the goods) ``user`` may give: the largest
    ``DiscountLimit`` of their roles, 0 without ``orders.give_discount`` or without one."""
    if user is None or not user.is_authenticated or not user.has_perm("orders.give_discount"):
        return ZERO
    best = DiscountLimit.objects.filter(group__user=user).aggregate(m=Max("max_percent"))["m"]
    return best or ZERO


def discount_check(*, discount: Decimal, goods: Decimal, agent) -> Decimal:
    discount = money(discount or ZERO)
    if discount < ZERO:
        message = _("A discount cannot be negative.")
        raise DomainError(message, fields={"discount": [message]}, code="discount")
    if discount == ZERO:
        return ZERO
    limit = discount_limit_percent(agent)
    allowed = money(goods * limit / Decimal(100))
    if discount > allowed:
        message = _("You may give at most %(percent)s%% off (¥%(allowed)s on this order).") % {
            "percent": limit.normalize(),
            "allowed": allowed,
        }
        raise Forbidden(message, fields={"discount": [message]}, code="discount_limit")
    return discount


def amounts_compute(
    *, goods: Decimal, discount: Decimal, freight: Decimal, payment_method: str
) -> tuple[Decimal, Decimal]:
    """(total, COD amount)."""
    total = money(goods - discount + freight)
    return total, (total if payment_method == PaymentMethod.COD else ZERO)


def freight_compute(*, courier_id: int | None, province_code: str, weight_kg: Decimal) -> Decimal:
    return money(
        hooks.freight_for(courier_id=courier_id, province_code=province_code, weight_kg=weight_kg)
    )


def entry_freight(*, province_code: str, weight_kg: Decimal) -> Decimal:
    """Freight quoted at entry: with the province's default courier (the second review
    may choose another one and the amounts are recomputed then)."""
    courier_id = hooks.default_courier_for(province_code=province_code)
    return freight_compute(courier_id=courier_id, province_code=province_code, weight_kg=weight_kg)


def airing_slot_at(*, station: Station | None, at: dt.datetime) -> AiringSlot | None:
    """The station's airing running at ``at``; else the latest one that ended at most
    ``ORDERS_SLOT_GRACE_MINUTES`` before (viewers call right after the ad)."""
    if station is None:
        return None
    slots = AiringSlot.objects.filter(station=station)
    running = slots.filter(start__lte=at, end__gte=at).order_by("-start", "-pk").first()
    if running is not None:
        return running
    grace = dt.timedelta(minutes=settings.ORDERS_SLOT_GRACE_MINUTES)
    return slots.filter(end__lt=at, end__gte=at - grace).order_by("-end", "-pk").first()


def address_incomplete(street: str) -> bool:
    """A street without a house number or too short to find is flagged for review."""
    street = (street or "").strip()
    return len(street) < 6 or not _HAS_DIGIT.search(street)


def order_number_next(*, at: dt.datetime | None = None) -> str:
    """``SO`` + the local date + a number from a PostgreSQL sequence (never repeats, no
    lock held). Other databases: one past the largest id, made unique by the caller."""
    day = timezone.localtime(at or timezone.now()).strftime("%Y%m%d")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [ORDER_NUMBER_SEQUENCE])
            value = cursor.fetchone()[0]
    else:
        value = (Order.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        while Order.objects.filter(number=f"SO{day}{value:06d}").exists():
            value += 1
    return f"SO{day}{value:06d}"


def _primary_phone(customer: Customer) -> str:
    phone = customer.phones.order_by("-is_primary", "id").first()
    return phone.number if phone else ""


def _delivery(*, customer: Customer, address: Address | None, new_address: dict | None, actor):
    """The order's delivery fields from a chosen or a new address of the customer."""
    if new_address:
        address = address_add(actor=actor, customer=customer, **new_address)
    if address is None:
        message = _("Choose a delivery address or add one.")
        raise DomainError(message, fields={"address": [message]}, code="address")
    if address.customer_id != customer.pk:
        message = _("This address belongs to another customer.")
        raise DomainError(message, fields={"address": [message]}, code="address")
    return {
        "address": address,
        "recipient": (address.recipient or customer.name)[:50],
        "phone": address.phone or _primary_phone(customer),
        "province_id": address.province_id,
        "city_id": address.city_id,
        "district_id": address.district_id,
        "street": address.street,
    }


def _locked_customer(customer: Customer) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id:
        raise Conflict(
            _("This customer was merged into another one; take the order there."),
            code="customer_merged",
        )
    if customer.is_blacklisted:
        raise Forbidden(
            _("%(name)s is blacklisted and cannot order.") % {"name": customer.name},
            code="blacklisted",
        )
    return customer


def _source(*, call_uuid: str, hotline: Hotline | None, station: Station | None):
    if call_uuid and hotline is None and station is None:
        found = hooks.call_source_for(call_uuid=call_uuid) or {}
        if found.get("hotline_id"):
            hotline = (
                Hotline.objects.select_related("station").filter(pk=found["hotline_id"]).first()
            )
        if found.get("station_id") and hotline is None:
            station = Station.objects.filter(pk=found["station_id"]).first()
    if hotline is not None:
        station = hotline.station
    return hotline, station


def _flags(*, order: Order, customer: Customer) -> None:
    """Set the reviewers' flags; works before the order is first saved too."""
    from orders.selectors import duplicate_candidates

    others = Order.objects.filter(customer=customer)
    duplicates = duplicate_candidates(
        customer=customer,
        phone=order.phone,
        address_id=order.address_id,
        district_id=order.district_id,
        street=order.street,
    )
    if order.pk:
        others = others.exclude(pk=order.pk)
        duplicates = duplicates.exclude(pk=order.pk)
    duplicate = duplicates.order_by("-created_at", "-pk").first()
    order.is_vip = customer.is_vip
    order.is_new_customer = not others.exists()
    order.is_duplicate = duplicate is not None
    order.duplicate_of = duplicate
    order.is_large_amount = order.total >= Decimal(settings.ORDERS_LARGE_AMOUNT)
    order.address_incomplete = address_incomplete(order.street)


FLAG_FIELDS = [
    "is_vip",
    "is_new_customer",
    "is_duplicate",
    "duplicate_of",
    "is_large_amount",
    "address_incomplete",
]
AMOUNT_FIELDS = ["goods_amount", "discount_amount", "freight", "total", "cod_amount"]


def _order_summary(order: Order, *, lines=None, gifts=None) -> dict:
    """The audit snapshot; ``lines``/``gifts`` when the caller has just written them (no
    read back: two queries fewer per submit)."""
    data = snapshot(order)
    data["lines"] = [
        {"sku": ln.sku, "qty": ln.quantity, "price": str(ln.unit_price), "amount": str(ln.amount)}
        for ln in (order.lines.all() if lines is None else lines)
    ]
    data["gifts"] = [
        {"sku": g.sku, "qty": g.quantity, "points": g.points_spent}
        for g in (order.gifts.all() if gifts is None else gifts)
    ]
    return data


def _write_lines(order: Order, priced: PricedLines) -> list[OrderLine]:
    return OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            list_price=product.price,
            unit_price=product.price,
            quantity=qty,
            amount=amount,
        )
        for product, qty, amount in priced.rows
    )


def _check_payment_method(payment_method: str) -> str:
    if payment_method not in PaymentMethod.values:
        message = _("Choose a payment method.")
        raise DomainError(message, fields={"payment_method": [message]}, code="payment_method")
    return payment_method


# --- the services ---------------------------------------------------------------------
def order_create(
    *,
    customer: Customer,
    agent,
    lines: list[LineInput],
    gifts: list[int] | tuple = (),
    address: Address | None = None,
    new_address: dict | None = None,
    payment_method: str = PaymentMethod.COD,
    discount: Decimal = ZERO,
    remark: str = "",
    call_uuid: str = "",
    hotline: Hotline | None = None,
    station: Station | None = None,
    at: dt.datetime | None = None,
) -> Order:
    """Take an order (status SUBMITTED). ``gifts`` are gift rule ids; ``new_address`` a
    dict for ``crm.services.customers.address_add`` (saved to the customer too)."""
    if agent is None or not agent.is_authenticated or not agent.has_perm("orders.add_order"):
        raise Forbidden(_("You are not allowed to take orders."), code="forbidden")
    now = at or timezone.now()
    payment_method = _check_payment_method(payment_method)
    priced = lines_price(lines)
    discount = discount_check(discount=discount, goods=priced.goods, agent=agent)
    hotline, station = _source(call_uuid=call_uuid[:64], hotline=hotline, station=station)
    with transaction.atomic():
        customer = _locked_customer(customer)
        delivery = _delivery(
            customer=customer, address=address, new_address=new_address, actor=agent
        )
        plan = gift_plan(
            rule_ids=list(gifts),
            quantities=priced.quantities(),
            goods_amount=priced.goods - discount,
            points_balance=customer.points_balance,
            now=now,
        )
        freight = entry_freight(province_code=delivery["province_id"], weight_kg=priced.weight_kg)
        total, cod = amounts_compute(
            goods=priced.goods, discount=discount, freight=freight, payment_method=payment_method
        )
        order = Order(
            number=order_number_next(at=now),
            status=S.SUBMITTED,
            customer=customer,
            call_uuid=call_uuid[:64],
            hotline=hotline,
            station=station,
            airing_slot=airing_slot_at(station=station, at=now),
            agent=agent,
            payment_method=payment_method,
            goods_amount=priced.goods,
            discount_amount=discount,
            freight=freight,
            total=total,
            cod_amount=cod,
            points_spent=plan.points,
            remark=(remark or "").strip()[:500],
            submitted_at=now,
            status_at=now,
            **delivery,
        )
        _flags(order=order, customer=customer)
        order.save()
        lines = _write_lines(order, priced)
        gifts = gifts_reserve(order=order, customer=customer, plan=plan, actor=agent)
        OrderStatusChange.objects.create(
            order=order, from_status="", to_status=S.SUBMITTED, actor=agent, at=now
        )
        audit_record(
            actor=agent,
            action=AuditAction.CREATE,
            obj=order,
            after=_order_summary(order, lines=lines, gifts=gifts),
        )
    return order


def _may_edit(order: Order, actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm("orders.change_order"):
        raise Forbidden(_("You are not allowed to change orders."), code="forbidden")
    if order.agent_id != actor.pk and not actor.is_superuser:
        raise Forbidden(_("Only the agent who took this order can fix it."), code="not_own")


def order_update(
    *,
    order: Order,
    actor,
    lines: list[LineInput],
    gifts: list[int] | tuple = (),
    address: Address | None = None,
    new_address: dict | None = None,
    payment_method: str = PaymentMethod.COD,
    discount: Decimal = ZERO,
    remark: str = "",
    resubmit: bool = True,
    at: dt.datetime | None = None,
) -> Order:
    """Fix an order sent back by a reviewer (REJECTED) and, by default, resubmit it.

    Lines, gifts, address, payment method, discount and remark are replaced; the old
    gifts' stock and points are given back before the new ones are reserved."""
    now = at or timezone.now()
    payment_method = _check_payment_method(payment_method)
    priced = lines_price(lines)
    discount = discount_check(discount=discount, goods=priced.goods, agent=actor)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        _may_edit(order, actor)
        if order.status != S.REJECTED:
            raise Conflict(
                _("Order %(number)s is “%(status)s”; only orders sent back can be changed.")
                % {"number": order.number, "status": order.get_status_display()},
                code="order_moved",
            )
        before = _order_summary(order)
        customer = _locked_customer(order.customer)
        delivery = _delivery(
            customer=customer, address=address, new_address=new_address, actor=actor
        )
        gifts_release(
            order=order,
            actor=actor,
            reason=_("Gifts changed on order %(number)s") % {"number": order.number},
            delete=True,
        )
        customer.refresh_from_db(fields=["points_balance"])
        plan = gift_plan(
            rule_ids=list(gifts),
            quantities=priced.quantities(),
            goods_amount=priced.goods - discount,
            points_balance=customer.points_balance,
            now=now,
        )
        order.lines.all().delete()
        _write_lines(order, priced)
        gifts_reserve(order=order, customer=customer, plan=plan, actor=actor)
        freight = entry_freight(province_code=delivery["province_id"], weight_kg=priced.weight_kg)
        order.total, order.cod_amount = amounts_compute(
            goods=priced.goods, discount=discount, freight=freight, payment_method=payment_method
        )
        for name, value in delivery.items():
            setattr(order, name, value)
        order.goods_amount, order.discount_amount, order.freight = priced.goods, discount, freight
        order.payment_method = payment_method
        order.points_spent = plan.points
        order.remark = (remark or "").strip()[:500]
        _flags(order=order, customer=customer)
        order.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            before=before,
            after=_order_summary(order),
            note="fixed after rejection",
        )
        if resubmit:
            order = order_transition(
                order_id=order.pk,
                to_status=S.SUBMITTED,
                actor=actor,
                expected_status=S.REJECTED,
                note=_("Fixed and resubmitted"),
                at=now,
            )
    return order


def order_add_lines(*, order: Order, actor, lines: list[LineInput]) -> Order:
    """Add products to an open order (not yet exported) instead of taking a duplicate
    order: same product adds to its line's quantity; amounts recomputed; audited."""
    if actor is None or not actor.is_authenticated or not actor.has_perm("orders.add_order"):
        raise Forbidden(_("You are not allowed to take orders."), code="forbidden")
    priced = lines_price(lines)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in OPEN_FOR_LINES:
            raise Conflict(
                _("Order %(number)s is “%(status)s”; products can no longer be added.")
                % {"number": order.number, "status": order.get_status_display()},
                code="order_closed",
            )
        _locked_customer(order.customer)
        before = _order_summary(order)
        existing = {ln.product_id: ln for ln in order.lines.select_for_update()}
        new_rows = []
        for product, qty, amount in priced.rows:
            line = existing.get(product.pk)
            if line is None:
                new_rows.append((product, qty, amount))
                continue
            line.quantity += qty
            line.amount = money(line.unit_price * line.quantity)
            line.save(update_fields=["quantity", "amount"])
        _write_lines(order, PricedLines(rows=new_rows, goods=ZERO, weight_kg=ZERO))
        all_lines = list(order.lines.select_related("product"))
        order.goods_amount = money(sum((ln.amount for ln in all_lines), ZERO))
        weight = sum((ln.product.weight_kg * ln.quantity for ln in all_lines), Decimal("0"))
        order.freight = (
            freight_compute(
                courier_id=order.courier_id, province_code=order.province_id, weight_kg=weight
            )
            if order.courier_id
            else entry_freight(province_code=order.province_id, weight_kg=weight)
        )
        order.total, order.cod_amount = amounts_compute(
            goods=order.goods_amount,
            discount=order.discount_amount,
            freight=order.freight,
            payment_method=order.payment_method,
        )
        order.is_large_amount = order.total >= Decimal(settings.ORDERS_LARGE_AMOUNT)
        order.save(update_fields=[*AMOUNT_FIELDS, "is_large_amount", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            before=before,
            after=_order_summary(order),
            note="lines added instead of a duplicate order",
        )
    return order


def order_cancel(
    *, order: Order, actor, reason: str, note: str = "", expected_status: str | None = None
) -> Order:
    """Cancel through the state machine and give back what the order held: gift stock
    and the points its gifts cost. One transaction."""
    with transaction.atomic():
        order = order_transition(
            order_id=order.pk,
            to_status=S.CANCELLED,
            actor=actor,
            expected_status=expected_status,
            reason=reason,
            note=note,
        )
        gifts_release(
            order=order,
            actor=actor,
            reason=_("Order %(number)s cancelled: points given back") % {"number": order.number},
            delete=False,
        )
    return order
