"""Fixtures for the logistics tests: couriers, exported orders, courier files built here.

Celery runs its tasks in-process here (``task_always_eager``), the way the embedded wiring
runs them; the suite does not run a worker against the Redis broker.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from logistics.models import Shipment
from orders.choices import OrderStatus
from tests.orders.factories import make_order
from tvshop.catalog.models import Courier


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager_celery():
    from tvshop.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def sf(db):
    from logistics.defaults import courier_templates_load

    courier_templates_load()
    return Courier.objects.get(code="sf")


@pytest.fixture
def zto(sf):
    return Courier.objects.get(code="zto")


@pytest.fixture
def clerk(make_user):
    return make_user("logistics")


@pytest.fixture
def finance(make_user):
    return make_user("finance")


def exported(courier, *, n=1, waybills=None, **fields):
    """Orders already exported in a batch of ``courier`` (shipments without waybill unless
    ``waybills`` is given)."""
    from logistics.models import ShipmentBatch

    user = fields.pop("agent", None)
    orders = [
        make_order(
            status=OrderStatus.EXPORTED,
            courier=courier,
            **({"agent": user} if user else {}),
            **fields,
        )
        for _ in range(n)
    ]
    batch = ShipmentBatch.objects.create(
        number=f"SBT{ShipmentBatch.objects.count() + 1:05d}",
        courier=courier,
        state="done",
        created_by=orders[0].agent,
    )
    for i, order in enumerate(orders):
        Shipment.objects.create(
            order=order,
            batch=batch,
            courier=courier,
            waybill=(waybills[i] if waybills else ""),
            status="waybill" if waybills else "exported",
        )
    return orders


def xlsx_bytes(rows, *, title: str | None = None, blank_rows: int = 0, merge: int = 0) -> bytes:
    """A workbook like couriers send: optional merged title row and blank rows above the
    header. ``rows`` = header row then data rows (values typed as given)."""
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        if merge:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=merge)
    for _ in range(blank_rows):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, *, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))
