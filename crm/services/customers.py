"""Writes about customers. Each service is atomic and writes its audit entry in the same
transaction; views, the API, imports and commands call these, never ``.save()``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, models, transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.choices import CustomerLevel, DivisionLevel, Salutation
from crm.models import (
    Address,
    Customer,
    CustomerPhone,
    Division,
    Lead,
    PointsEntry,
    ServiceRecord,
    Ticket,
)
from crm.phones import InvalidPhone, NormalizedPhone, phone_normalize
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError
from tvshop.media.models import Station

UNSET: Any = object()

#: Sent inside customer_merge's transaction after crm's own rows moved, with
#: ``survivor``, ``duplicate`` and ``actor``. Receivers move their own rows to the survivor
#: (same transaction: raise a DomainError to refuse the merge, everything rolls back).
customer_merged = Signal()


# --- merge participants ---------------------------------------------------------------
@dataclass(frozen=True)
class MergeParticipant:
    """Rows that follow a customer when it is merged: ``model.<field>`` moves to the
    survivor. Later apps register theirs (orders, calls, callbacks) in ``AppConfig.ready``."""

    label: Any
    model: type[models.Model]
    field: str = "customer"

    def count(self, customer: Customer) -> int:
        return self.model._default_manager.filter(**{self.field: customer}).count()

    def move(self, *, survivor: Customer, duplicate: Customer) -> int:
        return self.model._default_manager.filter(**{self.field: duplicate}).update(
            **{self.field: survivor}
        )


MERGE_PARTICIPANTS: list[MergeParticipant] = []


def merge_participant_register(label, model: type[models.Model], field: str = "customer"):
    """Let another app's rows move with a merge (and show in the merge preview)."""
    if not any(p.model is model and p.field == field for p in MERGE_PARTICIPANTS):
        MERGE_PARTICIPANTS.append(MergeParticipant(label=label, model=model, field=field))


for _label, _model in [
    (gettext_lazy("Phone numbers"), CustomerPhone),
    (gettext_lazy("Addresses"), Address),
    (gettext_lazy("Service records"), ServiceRecord),
    (gettext_lazy("Tickets"), Ticket),
    (gettext_lazy("Points entries"), PointsEntry),
    (gettext_lazy("Inbound leads"), Lead),
]:
    merge_participant_register(_label, _model)


# --- helpers --------------------------------------------------------------------------
def _normalize_all(raw_numbers: list[str], *, field: str = "phones") -> list[NormalizedPhone]:
    seen: dict[str, NormalizedPhone] = {}
    errors = []
    for raw in raw_numbers:
        if not (raw or "").strip():
            continue
        try:
            phone = phone_normalize(raw)
        except InvalidPhone as exc:
            errors.append(exc.message)
            continue
        seen.setdefault(phone.number, phone)
    if errors:
        raise DomainError(errors[0], fields={field: errors}, code="invalid_phone")
    return list(seen.values())


def _check_phones_free(
    phones: list[NormalizedPhone], *, owner: Customer | None, field: str = "phones"
) -> None:
    taken = (
        CustomerPhone.objects.filter(number__in=[p.number for p in phones])
        .exclude(customer=owner)
        .select_related("customer")
    )
    errors = [
        _("The number %(number)s already belongs to customer %(customer)s (#%(id)s).")
        % {"number": p.number, "customer": p.customer.name, "id": p.customer_id}
        for p in taken
    ]
    if errors:
        raise Conflict(errors[0], fields={field: errors}, code="phone_taken")


def _check_member_no_free(member_no: str, *, owner: Customer | None) -> None:
    if Customer.objects.filter(member_no=member_no).exclude(pk=getattr(owner, "pk", None)):
        message = _("The member number %(no)s is already in use.") % {"no": member_no}
        raise Conflict(message, fields={"member_no": [message]}, code="member_no_taken")


def _validate_pin(pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        message = _("The PIN must be 4 to 8 digits.")
        raise DomainError(message, fields={"pin": [message]})


def _validate_choice(value: str, choices, field: str) -> None:
    if value not in choices.values:
        message = _("“%(value)s” is not a valid choice.") % {"value": value}
        raise DomainError(message, fields={field: [message]})


def _generated_member_no(customer: Customer) -> str:
    candidate = f"M{customer.pk:08d}"
    if Customer.objects.filter(member_no=candidate).exists():
        candidate = f"M{customer.pk:08d}{secrets.token_hex(2).upper()}"
    return candidate


def _add_phone_rows(customer: Customer, phones: list[NormalizedPhone], *, primary: bool) -> list:
    rows = []
    for index, phone in enumerate(phones):
        rows.append(
            CustomerPhone.objects.create(
                customer=customer,
                number=phone.number,
                kind=phone.kind,
                province=phone.province,
                city=phone.city,
                is_primary=primary and index == 0,
            )
        )
    return rows


# --- customers ------------------------------------------------------------------------
@transaction.atomic
def customer_create(
    *,
    actor,
    name: str,
    phones: list[str],
    salutation: str = "",
    level: str = CustomerLevel.NORMAL,
    member_no: str = "",
    pin: str = "",
    source_station: Station | None = None,
    notes: str = "",
    address: dict | None = None,
) -> Customer:
    """Create a customer with at least one phone number and optionally a first address.

    Numbers are normalised to E.164; a number that belongs to another customer refuses
    the whole creation (nothing is saved). Without ``member_no`` one is generated
    (M + 8-digit id). The PIN is stored hashed. ``address`` takes the keyword arguments of
    ``address_add`` (province, city, district, street, …) and becomes the default.
    """
    name = (name or "").strip()
    if not name:
        message = _("Enter the customer's name.")
        raise DomainError(message, fields={"name": [message]})
    _validate_choice(salutation, Salutation, "salutation")
    _validate_choice(level, CustomerLevel, "level")
    normalized = _normalize_all(phones)
    if not normalized:
        message = _("Enter at least one phone number.")
        raise DomainError(message, fields={"phones": [message]})
    _check_phones_free(normalized, owner=None)
    member_no = (member_no or "").strip()
    if member_no:
        _check_member_no_free(member_no, owner=None)
    if pin:
        _validate_pin(pin)
    customer = Customer.objects.create(
        name=name,
        salutation=salutation,
        level=level,
        member_no=member_no or None,
        pin_hash=make_password(pin) if pin else "",
        source_station=source_station,
        notes=notes or "",
    )
    if not member_no:
        customer.member_no = _generated_member_no(customer)
        customer.save(update_fields=["member_no"])
    try:
        with transaction.atomic():
            _add_phone_rows(customer, normalized, primary=True)
    except IntegrityError as exc:  # lost a race with another session adding the number
        message = _("One of these numbers was just given to another customer.")
        raise Conflict(message, fields={"phones": [message]}, code="phone_taken") from exc
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=customer,
        after={**snapshot(customer), "phones": [p.number for p in normalized]},
    )
    if address:
        address_add(actor=actor, customer=customer, is_default=True, **address)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor,
    customer: Customer,
    name: str = UNSET,
    salutation: str = UNSET,
    level: str = UNSET,
    member_no: str = UNSET,
    pin: str = UNSET,
    source_station: Station | None = UNSET,
    notes: str = UNSET,
) -> Customer:
    """Change a customer's details; arguments left out keep their value. An empty PIN
    keeps the old one. Merged-away customers cannot be changed."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id:
        raise Conflict(_("This customer was merged into another one and cannot be changed."))
    before = snapshot(customer)
    changed = []
    if name is not UNSET:
        name = (name or "").strip()
        if not name:
            message = _("Enter the customer's name.")
            raise DomainError(message, fields={"name": [message]})
        customer.name = name
        changed.append("name")
    if salutation is not UNSET:
        _validate_choice(salutation or "", Salutation, "salutation")
        customer.salutation = salutation or ""
        changed.append("salutation")
    if level is not UNSET:
        _validate_choice(level, CustomerLevel, "level")
        customer.level = level
        changed.append("level")
    if member_no is not UNSET:
        member_no = (member_no or "").strip()
        if not member_no:
            message = _("The member number cannot be removed.")
            raise DomainError(message, fields={"member_no": [message]})
        _check_member_no_free(member_no, owner=customer)
        customer.member_no = member_no
        changed.append("member_no")
    if pin is not UNSET and pin:
        _validate_pin(pin)
        customer.pin_hash = make_password(pin)
        changed.append("pin_hash")
    if source_station is not UNSET:
        customer.source_station = source_station
        changed.append("source_station")
    if notes is not UNSET:
        customer.notes = notes or ""
        changed.append("notes")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
        after = snapshot(customer)
        if before != after or "pin_hash" in changed:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=customer,
                before=before,
                after=after,
                note="PIN changed" if "pin_hash" in changed else "",
            )
    return customer


# --- phones ---------------------------------------------------------------------------
@transaction.atomic
def customer_phone_add(
    *, actor, customer: Customer, number: str, is_primary: bool = False
) -> CustomerPhone:
    """Add a number to a customer; refused if it belongs to another customer."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id:
        raise Conflict(_("This customer was merged into another one and cannot be changed."))
    [phone] = _normalize_all([number], field="number") or [None]
    if phone is None:
        message = _("Enter a phone number.")
        raise DomainError(message, fields={"number": [message]})
    if CustomerPhone.objects.filter(customer=customer, number=phone.number).exists():
        message = _("This customer already has the number %(number)s.") % {"number": phone.number}
        raise Conflict(message, fields={"number": [message]}, code="phone_taken")
    _check_phones_free([phone], owner=customer, field="number")
    has_primary = customer.phones.filter(is_primary=True).exists()
    if is_primary and has_primary:
        customer.phones.filter(is_primary=True).update(is_primary=False)
    try:
        with transaction.atomic():
            [row] = _add_phone_rows(customer, [phone], primary=is_primary or not has_primary)
    except IntegrityError as exc:
        message = _("One of these numbers was just given to another customer.")
        raise Conflict(message, fields={"number": [message]}, code="phone_taken") from exc
    audit_record(actor=actor, action=AuditAction.CREATE, obj=row, after=snapshot(row))
    return row


@transaction.atomic
def customer_phone_remove(*, actor, phone: CustomerPhone) -> None:
    """Remove a number; a customer keeps at least one."""
    customer = Customer.objects.select_for_update().get(pk=phone.customer_id)
    phone = CustomerPhone.objects.get(pk=phone.pk)
    if customer.phones.count() <= 1:
        raise Conflict(_("A customer keeps at least one phone number."))
    before = snapshot(phone)
    was_primary = phone.is_primary
    phone.delete()
    if was_primary:
        first = customer.phones.order_by("id").first()
        CustomerPhone.objects.filter(pk=first.pk).update(is_primary=True)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        object_type=CustomerPhone,
        object_id=before["id"],
        object_repr=before["number"],
        before=before,
    )


@transaction.atomic
def phone_reveal(*, actor, phone: CustomerPhone, ip: str | None = None) -> str:
    """Record that ``actor`` looked at the full number; returns it (E.164)."""
    audit_record(
        actor=actor,
        action=AuditAction.REVEAL,
        obj=phone,
        note=f"customer #{phone.customer_id}",
        ip=ip,
    )
    return phone.number


# --- addresses ------------------------------------------------------------------------
def _division(value, level: int, field: str) -> Division:
    if isinstance(value, Division):
        division = value
    else:
        division = Division.objects.filter(pk=str(value or "")).first()
    if division is None or division.level != level:
        message = _("Choose a valid %(what)s.") % {"what": DivisionLevel(level).label}
        raise DomainError(message, fields={field: [message]}, code="invalid_division")
    return division


def _division_chain(province, city, district) -> tuple[Division, Division, Division]:
    province = _division(province, DivisionLevel.PROVINCE, "province")
    city = _division(city, DivisionLevel.CITY, "city")
    district = _division(district, DivisionLevel.DISTRICT, "district")
    if city.parent_id != province.pk:
        message = _("%(city)s is not in %(province)s.") % {
            "city": city.name,
            "province": province.name,
        }
        raise DomainError(message, fields={"city": [message]}, code="invalid_division")
    if district.parent_id != city.pk:
        message = _("%(district)s is not in %(city)s.") % {
            "district": district.name,
            "city": city.name,
        }
        raise DomainError(message, fields={"district": [message]}, code="invalid_division")
    return province, city, district


def _clean_address_text(street: str, postal_code: str) -> tuple[str, str]:
    street = (street or "").strip()
    if not street:
        message = _("Enter the street address.")
        raise DomainError(message, fields={"street": [message]})
    postal_code = (postal_code or "").strip()
    if postal_code and not (postal_code.isdigit() and len(postal_code) == 6):
        message = _("A postal code has 6 digits.")
        raise DomainError(message, fields={"postal_code": [message]})
    return street, postal_code


def _recipient_phone(raw: str) -> str:
    if not (raw or "").strip():
        return ""
    try:
        return phone_normalize(raw).number
    except InvalidPhone as exc:
        raise InvalidPhone(raw, field="phone") from exc


@transaction.atomic
def address_add(
    *,
    actor,
    customer: Customer,
    province,
    city,
    district,
    street: str,
    postal_code: str = "",
    recipient: str = "",
    phone: str = "",
    is_default: bool = False,
) -> Address:
    """Add an address; province/city/district must be one chain of divisions. The first
    address of a customer is the default."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id:
        raise Conflict(_("This customer was merged into another one and cannot be changed."))
    province, city, district = _division_chain(province, city, district)
    street, postal_code = _clean_address_text(street, postal_code)
    first = not customer.addresses.exists()
    if is_default and not first:
        customer.addresses.filter(is_default=True).update(is_default=False)
    address = Address.objects.create(
        customer=customer,
        province=province,
        city=city,
        district=district,
        street=street,
        postal_code=postal_code,
        recipient=(recipient or "").strip(),
        phone=_recipient_phone(phone),
        is_default=is_default or first,
    )
    audit_record(actor=actor, action=AuditAction.CREATE, obj=address, after=snapshot(address))
    return address


@transaction.atomic
def address_update(
    *,
    actor,
    address: Address,
    province,
    city,
    district,
    street: str,
    postal_code: str = "",
    recipient: str = "",
    phone: str = "",
) -> Address:
    """Change an address (the default flag is changed by ``address_set_default``)."""
    address = Address.objects.select_for_update().get(pk=address.pk)
    before = snapshot(address)
    address.province, address.city, address.district = _division_chain(province, city, district)
    address.street, address.postal_code = _clean_address_text(street, postal_code)
    address.recipient = (recipient or "").strip()
    address.phone = _recipient_phone(phone)
    address.save()
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=address, before=before, after=snapshot(address)
    )
    return address


@transaction.atomic
def address_set_default(*, actor, address: Address) -> Address:
    """Make ``address`` its customer's one default address."""
    Customer.objects.select_for_update().get(pk=address.customer_id)
    address = Address.objects.get(pk=address.pk)
    if address.is_default:
        return address
    before = snapshot(address)
    Address.objects.filter(customer_id=address.customer_id, is_default=True).update(
        is_default=False
    )
    address.is_default = True
    address.save(update_fields=["is_default", "updated_at"])
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=address, before=before, after=snapshot(address)
    )
    return address


# --- merge ----------------------------------------------------------------------------
def customer_merge_check(*, survivor: Customer, duplicate: Customer) -> None:
    """Raise a DomainError saying why these two may not be merged (see customer_merge)."""
    if survivor.pk == duplicate.pk:
        raise Conflict(_("A customer cannot be merged with itself."), code="merge_refused")
    for customer in (survivor, duplicate):
        if customer.merged_into_id:
            raise Conflict(
                _("%(name)s (#%(id)s) was already merged into another customer.")
                % {"name": customer.name, "id": customer.pk},
                code="merge_refused",
            )
    if survivor.is_blacklisted != duplicate.is_blacklisted:
        raise Conflict(
            _(
                "One of these customers is blacklisted and the other is not. Merging would "
                "either blacklist a good customer or take a blacklisted number off the "
                "blacklist. Change the level of one of them first if they are really the "
                "same person."
            ),
            code="merge_refused",
        )


def customer_merge_preview(*, survivor: Customer, duplicate: Customer) -> list[tuple[str, int]]:
    """(what, how many rows) that would move from the duplicate to the survivor."""
    return [(str(p.label), p.count(duplicate)) for p in MERGE_PARTICIPANTS]


@transaction.atomic
def customer_merge(*, actor, survivor: Customer, duplicate: Customer) -> Customer:
    """Merge ``duplicate`` into ``survivor``; the duplicate stays as a stub pointing to it.

    Rules (refusals raise Conflict with the reason, nothing changes):
    - a customer cannot be merged with itself; neither may already be merged;
    - a blacklisted customer is only merged with another blacklisted one (otherwise the
      blacklist would silently grow or shrink);
    What happens:
    - every registered participant moves (phones, addresses, service records, tickets,
      points entries, leads; later apps add orders, calls … via
      ``merge_participant_register``), then ``customer_merged`` is sent for the rest;
    - moved phones/addresses lose their primary/default flag if the survivor has one;
    - the survivor takes the duplicate's points (its entries move, the balances are summed
      and a zero-change entry records the merge), the higher level (VIP over normal), the
      duplicate's member number and PIN if it has none, and the duplicate's notes appended;
    - the duplicate gets ``merged_into`` = survivor, zero points, and drops out of lists.
    Both rows are locked (select_for_update, ordered by pk) for the whole merge.
    """
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    survivor, duplicate = locked[survivor.pk], locked.get(duplicate.pk, survivor)
    customer_merge_check(survivor=survivor, duplicate=duplicate)
    before = {"survivor": snapshot(survivor), "duplicate": snapshot(duplicate)}

    if survivor.phones.filter(is_primary=True).exists():
        duplicate.phones.update(is_primary=False)
    if survivor.addresses.filter(is_default=True).exists():
        duplicate.addresses.update(is_default=False)
    moved = {}
    for participant in MERGE_PARTICIPANTS:
        moved[str(participant.label)] = participant.move(survivor=survivor, duplicate=duplicate)

    update = ["points_balance", "level", "notes", "updated_at"]
    points = duplicate.points_balance
    survivor.points_balance += points
    if duplicate.is_vip and survivor.level == CustomerLevel.NORMAL:
        survivor.level = CustomerLevel.VIP
    if duplicate.notes.strip():
        header = _("From merged customer %(name)s (#%(id)s):") % {
            "name": duplicate.name,
            "id": duplicate.pk,
        }
        survivor.notes = "\n\n".join(filter(None, [survivor.notes, f"{header}\n{duplicate.notes}"]))
    take_member_no = not survivor.member_no and duplicate.member_no
    member_no = duplicate.member_no
    if not survivor.pin_hash and duplicate.pin_hash:
        survivor.pin_hash = duplicate.pin_hash
        update.append("pin_hash")

    duplicate.merged_into = survivor
    duplicate.points_balance = 0
    dup_fields = ["merged_into", "points_balance", "updated_at"]
    if take_member_no:
        duplicate.member_no = None
        dup_fields.append("member_no")
    duplicate.save(update_fields=dup_fields)
    if take_member_no:
        survivor.member_no = member_no
        update.append("member_no")
    survivor.save(update_fields=update)

    PointsEntry.objects.create(
        customer=survivor,
        delta=0,
        balance_after=survivor.points_balance,
        reason=_("Merged customer #%(id)s: its %(points)s points and their entries moved here.")
        % {"id": duplicate.pk, "points": points},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    customer_merged.send(sender=Customer, survivor=survivor, duplicate=duplicate, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        obj=survivor,
        before=before,
        after={"survivor": snapshot(survivor), "duplicate": snapshot(duplicate), "moved": moved},
        note=f"#{duplicate.pk} → #{survivor.pk}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        obj=duplicate,
        before=before["duplicate"],
        after=snapshot(duplicate),
        note=f"#{duplicate.pk} → #{survivor.pk}",
    )
    return survivor


# --- import ---------------------------------------------------------------------------
@transaction.atomic
def customer_import_row(
    *,
    actor,
    name: str,
    phones: list[str],
    salutation: str = "",
    level: str = "",
    member_no: str = "",
    notes: str = "",
    address: dict | None = None,
) -> tuple[str, Customer]:
    """Create or update one customer from an import row; returns ("new"|"update"|"skip").

    The customer is found by any of its normalised phone numbers, then by member number;
    re-importing the same row changes nothing ("skip"). Numbers in the row belonging to
    two different customers refuse the row. Empty cells leave values unchanged.
    """
    normalized = _normalize_all(phones)
    if not normalized:
        message = _("Enter at least one phone number.")
        raise DomainError(message, fields={"phones": [message]})
    owners = set(
        CustomerPhone.objects.filter(number__in=[p.number for p in normalized]).values_list(
            "customer_id", flat=True
        )
    )
    if len(owners) > 1:
        message = _("These numbers belong to different customers (#%(ids)s).") % {
            "ids": ", #".join(str(i) for i in sorted(owners))
        }
        raise Conflict(message, fields={"phones": [message]}, code="phone_taken")
    customer = Customer.objects.filter(pk__in=owners).first() if owners else None
    if customer is None and member_no:
        customer = Customer.objects.filter(member_no=member_no).first()
    if customer is not None and customer.merged_into_id:
        customer = customer.merged_into
    if customer is None:
        created = customer_create(
            actor=actor,
            name=name,
            phones=[p.number for p in normalized],
            salutation=salutation,
            level=level or CustomerLevel.NORMAL,
            member_no=member_no,
            notes=notes,
            address=address,
        )
        return "new", created

    changes = {}
    for field, value in [
        ("name", name),
        ("salutation", salutation),
        ("level", level),
        ("member_no", member_no),
        ("notes", notes),
    ]:
        if value and getattr(customer, field) != value:
            changes[field] = value
    if changes:
        customer_update(actor=actor, customer=customer, **changes)
    existing = set(customer.phones.values_list("number", flat=True))
    new_numbers = [p for p in normalized if p.number not in existing]
    for phone in new_numbers:
        customer_phone_add(actor=actor, customer=customer, number=phone.number)
    added_address = False
    if address:
        _province, _city, district = _division_chain(
            address.get("province"), address.get("city"), address.get("district")
        )
        street = (address.get("street") or "").strip()
        if not customer.addresses.filter(district=district, street=street).exists():
            address_add(actor=actor, customer=customer, **address)
            added_address = True
    outcome = "update" if (changes or new_numbers or added_address) else "skip"
    return outcome, customer


@transaction.atomic
def customer_import_audit(*, actor, filename: str, counts: dict, ip: str | None = None):
    """The one audit entry of a confirmed import."""
    return audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        object_type=Customer,
        object_repr=filename[:200],
        after=counts,
        note=filename,
        ip=ip,
    )


@transaction.atomic
def customer_export_audit(*, actor, count: int, filters: dict, fmt: str, masked: bool, ip=None):
    """The one audit entry of an export."""
    return audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=Customer,
        object_repr=f"{count} customers ({fmt})",
        after={"count": count, "filters": filters, "format": fmt, "masked": masked},
        ip=ip,
    )
