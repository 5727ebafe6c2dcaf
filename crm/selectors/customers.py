"""Reads about customers: the screen-pop lookup, search, the customer page."""

from __future__ import annotations

import re
from functools import lru_cache

from django.db import connection
from django.db.models import Prefetch, QuerySet

from crm.models import Address, Customer, CustomerPhone, Division, PointsEntry
from crm.phones import phone_lookup_key
from tvshop.media.models import Station

# Fewer digits than this would make a partial-number search scan (trigrams need 3 chars)
# and match half the table anyway.
MIN_PARTIAL_DIGITS = 4
_PHONEISH = re.compile(r"^[\d\s\-+().]+$")


@lru_cache(maxsize=1)
def _pop_query() -> tuple[str, list[str], list[str], list[str]]:
    """The screen-pop SQL, built once from the models' metadata.

    Compiling the equivalent ORM query costs about as much as running it; the pop runs
    on every inbound call, so the statement is built once per process.
    """
    quote = connection.ops.quote_name

    def columns(model, alias):
        fields = model._meta.concrete_fields
        return [f.attname for f in fields], [f"{alias}.{quote(f.column)}" for f in fields]

    customer_names, customer_cols = columns(Customer, "c")
    station_names, station_cols = columns(Station, "s")
    phone_names, phone_cols = columns(CustomerPhone, "p")
    sql = (
        f"SELECT {', '.join(customer_cols + station_cols + phone_cols)} "  # noqa: S608
        f"FROM {quote(CustomerPhone._meta.db_table)} p "
        f"JOIN {quote(Customer._meta.db_table)} c ON c.{quote('id')} = p.{quote('customer_id')} "
        f"LEFT JOIN {quote(Station._meta.db_table)} s "
        f"ON s.{quote('id')} = c.{quote('source_station_id')} "
        f"WHERE p.{quote('number')} = %s AND c.{quote('merged_into_id')} IS NULL LIMIT 1"
    )
    return sql, customer_names, station_names, phone_names


def customer_find_by_phone(raw: str) -> Customer | None:
    """The live customer owning the number ``raw`` (any accepted spelling), or None.

    What the screen pop calls on every inbound call: normalise in Python, then one query
    on the unique index of crm_customerphone.number joined to the customer and its source
    station (``customer.source_station`` needs no further query). The matched phone is
    attached as ``customer.matched_phone``. Same result as
    ``CustomerPhone.objects.select_related("customer__source_station").filter(number=…,
    customer__merged_into=None)``, without compiling that query on every call.
    """
    key = phone_lookup_key(raw)
    if key is None:
        return None
    sql, customer_names, station_names, phone_names = _pop_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    n_customer, n_station = len(customer_names), len(station_names)
    db = connection.alias
    customer = Customer.from_db(db, customer_names, row[:n_customer])
    station_values = row[n_customer : n_customer + n_station]
    station = None
    if customer.source_station_id is not None:
        station = Station.from_db(db, station_names, station_values)
    Customer.source_station.field.set_cached_value(customer, station)
    phone = CustomerPhone.from_db(db, phone_names, row[n_customer + n_station :])
    CustomerPhone.customer.field.set_cached_value(phone, customer)
    customer.matched_phone = phone
    return customer


def _phone_query_digits(q: str) -> str:
    """The digits to look for inside stored E.164 numbers (+86 + national number)."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if q.lstrip().startswith("+") and digits.startswith("86"):
        return digits[2:]
    if digits.startswith("0086") and len(digits) > 8:
        return digits[4:]
    if digits.startswith("0") and not digits.startswith("00"):
        # A trunk "0" (0755…) is not stored; without it the match is a superset.
        return digits[1:]
    return digits


def customer_search(q: str = "", *, level: str = "") -> QuerySet[Customer]:
    """Live customers (not merged away) matching ``q``, newest first.

    ``q`` may be a full phone number (exact match on the unique index), part of one
    (4+ digits; pg_trgm index), part of a name (pg_trgm index on UPPER(name)) or a member
    number (exact). Phones are prefetched for list rows; page the result yourself.
    """
    qs = Customer.objects.filter(merged_into__isnull=True)
    if level:
        qs = qs.filter(level=level)
    q = (q or "").strip()
    if q:
        matches = [Customer.objects.filter(member_no=q).values("id").order_by()]
        if _PHONEISH.match(q):
            key = phone_lookup_key(q)
            digits = _phone_query_digits(q)
            phones = CustomerPhone.objects.order_by()
            if key is not None:
                matches.append(phones.filter(number=key).values("customer_id"))
            elif len(digits) >= MIN_PARTIAL_DIGITS:
                matches.append(phones.filter(number__contains=digits).values("customer_id"))
        else:
            matches.append(Customer.objects.filter(name__icontains=q).values("id").order_by())
        ids = matches[0].union(*matches[1:]) if len(matches) > 1 else matches[0]
        qs = qs.filter(pk__in=ids)
    return qs.select_related("source_station").prefetch_related(
        Prefetch("phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id"))
    )


def customer_get(pk: int) -> Customer:
    """One customer for its page (raises Customer.DoesNotExist)."""
    return (
        Customer.objects.select_related("source_station", "merged_into")
        .prefetch_related(
            Prefetch("phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id")),
            Prefetch(
                "addresses",
                queryset=Address.objects.select_related("province", "city", "district"),
            ),
        )
        .get(pk=pk)
    )


def customer_points(customer: Customer, *, limit: int = 100) -> QuerySet[PointsEntry]:
    return customer.points.select_related("created_by").order_by("-at", "-id")[:limit]


def division_children(parent_code: str | None) -> QuerySet[Division]:
    """Provinces (no parent) or the children of one division, for cascading selects."""
    if not parent_code:
        return Division.objects.filter(parent__isnull=True).order_by("code")
    return Division.objects.filter(parent_id=parent_code).order_by("code")
