"""Logistics: courier templates and rules, shipping batches, shipments and their tracking,
courier files imported (waybills, statuses, COD remittances).

Couriers themselves are shared base data (``tvshop.catalog.models.Courier``) because an
order names its courier. An order is on at most one *active* shipment: a batch that is
re-issued voids its shipments (and puts its orders back to "ready to ship").
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Division
from logistics.choices import (
    ColumnSource,
    CourierStatus,
    ExportFormat,
    ImportKind,
    JobState,
    RemittanceResult,
    ShipmentStatus,
)
from tvshop.catalog.models import Courier

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 12, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class ExportTemplate(models.Model):
    """A courier's shipping-sheet layout: ordered columns with their header text."""

    courier = models.OneToOneField(
        Courier,
        verbose_name=_("courier"),
        on_delete=models.CASCADE,
        related_name="export_template",
    )
    name = models.CharField(_("name"), max_length=100)
    file_format = models.CharField(
        _("file format"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.XLSX
    )
    sheet_name = models.CharField(_("sheet name"), max_length=31, default="Sheet1")
    note = models.CharField(_("note"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("export template")
        verbose_name_plural = _("export templates")
        ordering = ["courier__name"]

    def __str__(self) -> str:
        return self.name


class TemplateColumn(models.Model):
    """One column of a template: its place, header text and what fills it."""

    template = models.ForeignKey(
        ExportTemplate, verbose_name=_("template"), on_delete=models.CASCADE, related_name="columns"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    header = models.CharField(_("header text"), max_length=60)
    source = models.CharField(_("filled with"), max_length=20, choices=ColumnSource.choices)
    fixed_value = models.CharField(
        _("fixed value"), max_length=200, blank=True, help_text=_("For “Fixed value” columns.")
    )

    class Meta:
        verbose_name = _("template column")
        verbose_name_plural = _("template columns")
        ordering = ["template", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="templatecolumn_pos_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.header}"


class ProvinceCourier(models.Model):
    """The courier pre-chosen for orders to a province."""

    province = models.OneToOneField(
        Division,
        verbose_name=_("province"),
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"level": 1},
    )
    courier = models.ForeignKey(Courier, verbose_name=_("courier"), on_delete=models.CASCADE)

    class Meta:
        verbose_name = _("default courier by province")
        verbose_name_plural = _("default couriers by province")
        ordering = ["province__code"]

    def __str__(self) -> str:
        return f"{self.province} → {self.courier}"


class FreightRule(models.Model):
    """Freight by courier and province: the first kilogram, then each further (started)
    kilogram. A rule without a province applies to provinces without their own rule."""

    courier = models.ForeignKey(
        Courier, verbose_name=_("courier"), on_delete=models.CASCADE, related_name="freight_rules"
    )
    province = models.ForeignKey(
        Division,
        verbose_name=_("province"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"level": 1},
    )
    first_kg = models.DecimalField(_("first kilogram"), validators=NON_NEGATIVE, **MONEY)
    additional_kg = models.DecimalField(
        _("each further kilogram"), validators=NON_NEGATIVE, **MONEY
    )

    class Meta:
        verbose_name = _("freight rule")
        verbose_name_plural = _("freight rules")
        # Plain columns, no joins: ``audited_save`` locks the row with SELECT … FOR UPDATE,
        # which PostgreSQL refuses on the nullable side of an outer join (province).
        ordering = ["courier_id", "province_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["courier", "province"], name="freightrule_courier_province_uniq"
            ),
            models.UniqueConstraint(
                fields=["courier"],
                condition=models.Q(province__isnull=True),
                name="freightrule_courier_default_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.courier} {self.province or '*'}"


class StatusMapping(models.Model):
    """A courier's status text (签收, 拒收, 派件中 …) and the normalised status it means.

    ``text`` is stored normalised (NFKC, no spaces); a mapping without a courier applies to
    every courier, one with a courier wins for that courier.
    """

    courier = models.ForeignKey(
        Courier, verbose_name=_("courier"), null=True, blank=True, on_delete=models.CASCADE
    )
    text = models.CharField(_("courier's status text"), max_length=60)
    status = models.CharField(_("means"), max_length=20, choices=CourierStatus.choices)

    class Meta:
        verbose_name = _("courier status mapping")
        verbose_name_plural = _("courier status mappings")
        ordering = ["courier_id", "text"]  # no join (see FreightRule)
        constraints = [
            models.UniqueConstraint(fields=["courier", "text"], name="statusmapping_uniq"),
            models.UniqueConstraint(
                fields=["text"],
                condition=models.Q(courier__isnull=True),
                name="statusmapping_any_courier_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.text} → {self.get_status_display()}"

    def save(self, *args, **kwargs):
        from logistics.readers import normalize_text

        self.text = normalize_text(self.text)
        super().save(*args, **kwargs)


class ShipmentBatch(models.Model):
    """One export run for one courier: the orders it took and the file it wrote."""

    number = models.CharField(_("batch number"), max_length=30, unique=True)
    courier = models.ForeignKey(Courier, verbose_name=_("courier"), on_delete=models.PROTECT)
    state = models.CharField(
        _("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    file_format = models.CharField(
        _("file format"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.XLSX
    )
    file = models.FileField(_("file"), upload_to="logistics/exports/", blank=True)
    file_name = models.CharField(_("file name"), max_length=120, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    skipped = models.PositiveIntegerField(_("orders skipped"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    reissued_by = models.ForeignKey(
        USER,
        verbose_name=_("re-issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reissued_at = models.DateTimeField(_("re-issued"), null=True, blank=True)
    reissue_reason = models.CharField(_("re-issue reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("shipping batch")
        verbose_name_plural = _("shipping batches")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_shipment", _("Can export shipping sheets")),
            ("import_tracking", _("Can import waybills and delivery statuses")),
            ("reconcile_cod", _("Can reconcile COD remittances")),
            ("view_logistics_report", _("Can see logistics statistics")),
        ]

    def __str__(self) -> str:
        return self.number


class Shipment(models.Model):
    """An order handed to a courier in a batch: its waybill and latest tracking status."""

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="shipments"
    )
    batch = models.ForeignKey(
        ShipmentBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="shipments"
    )
    courier = models.ForeignKey(Courier, verbose_name=_("courier"), on_delete=models.PROTECT)
    active = models.BooleanField(_("active"), default=True)
    waybill = models.CharField(_("waybill number"), max_length=40, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.EXPORTED
    )
    status_at = models.DateTimeField(_("status time"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("exported"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(active=True), name="shipment_one_active"
            ),
            models.UniqueConstraint(
                fields=["courier", "waybill"],
                condition=~models.Q(waybill="") & models.Q(active=True),
                name="shipment_waybill_uniq",
            ),
        ]
        indexes = [models.Index(fields=["courier", "status"], name="shipment_courier_status")]

    def __str__(self) -> str:
        return self.waybill or f"#{self.pk}"


class LogisticsImport(models.Model):
    """One courier file uploaded: checked (dry run), then applied once."""

    kind = models.CharField(_("kind"), max_length=12, choices=ImportKind.choices)
    courier = models.ForeignKey(
        Courier, verbose_name=_("courier"), null=True, blank=True, on_delete=models.PROTECT
    )
    state = models.CharField(
        _("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED
    )
    file = models.FileField(_("file"), upload_to="logistics/imports/")
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    header_row = models.PositiveIntegerField(_("header row"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    to_change = models.PositiveIntegerField(_("to change"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    orders_moved = models.PositiveIntegerField(_("orders moved"), default=0)
    # [{"row": 7, "reason": "..."}], first rows only (the error file has all).
    errors = models.JSONField(_("bad rows"), default=list, blank=True)
    error_file = models.FileField(_("error file"), upload_to="logistics/imports/", blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    applied_by = models.ForeignKey(
        USER,
        verbose_name=_("applied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("courier file import")
        verbose_name_plural = _("courier file imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class TrackingEvent(models.Model):
    """One status a courier reported for a shipment (the logistics history)."""

    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="events"
    )
    status = models.CharField(_("status"), max_length=20, choices=CourierStatus.choices)
    raw_status = models.CharField(_("courier's text"), max_length=60)
    at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    remark = models.CharField(_("remark"), max_length=300, blank=True)
    source = models.ForeignKey(
        LogisticsImport, verbose_name=_("import"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "at", "raw_status"], name="trackingevent_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.shipment} {self.raw_status} {self.at:%Y-%m-%d %H:%M}"


class RemittanceLine(models.Model):
    """One line of a courier's COD remittance, compared with the order's COD amount."""

    source = models.ForeignKey(
        LogisticsImport, verbose_name=_("import"), on_delete=models.CASCADE, related_name="lines"
    )
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    waybill = models.CharField(_("waybill number"), max_length=40, blank=True)
    order_number = models.CharField(_("order number"), max_length=30, blank=True)
    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT
    )
    collected = models.DecimalField(_("collected"), null=True, blank=True, **MONEY)
    fee = models.DecimalField(_("fee"), default=Decimal("0"), **MONEY)
    expected = models.DecimalField(_("expected"), null=True, blank=True, **MONEY)
    difference = models.DecimalField(_("difference"), null=True, blank=True, **MONEY)
    remitted_on = models.DateField(_("remitted on"), null=True, blank=True)
    courier_batch = models.CharField(_("courier's batch"), max_length=60, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=RemittanceResult.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    payment = models.ForeignKey(
        "orders.Payment",
        verbose_name=_("payment record"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("remittance line")
        verbose_name_plural = _("remittance lines")
        ordering = ["source", "row", "id"]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.row} {self.waybill or self.order_number}"
