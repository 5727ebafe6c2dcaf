from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tvshop.catalog.models import Product


class Station(models.Model):
    """A TV station (电视台/媒体) on which the company buys airing slots."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("TV station")
        verbose_name_plural = _("TV stations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Hotline(models.Model):
    """A dialled number (DNIS) shown on air; calls to it belong to its station and queue."""

    number = models.CharField(
        _("dialled number"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{3,20}$", _("Enter digits only, e.g. 4008001234."))],
    )
    station = models.ForeignKey(
        Station, verbose_name=_("TV station"), on_delete=models.PROTECT, related_name="hotlines"
    )
    queue_name = models.CharField(
        _("queue"),
        max_length=50,
        validators=[RegexValidator(r"^[a-z0-9_\-]+$", _("Lower-case letters, digits, - and _."))],
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("default product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hotline")
        verbose_name_plural = _("hotlines")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} ({self.station})"


class AiringSlot(models.Model):
    """One airing of an ad (广告时段): station, product, hotline shown, time and cost."""

    station = models.ForeignKey(
        Station, verbose_name=_("TV station"), on_delete=models.PROTECT, related_name="slots"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT)
    hotline = models.ForeignKey(Hotline, verbose_name=_("hotline"), on_delete=models.PROTECT)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("airing slot")
        verbose_name_plural = _("airing slots")
        ordering = ["-start"]
        indexes = [models.Index(fields=["station", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="airingslot_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.station} {self.start:%Y-%m-%d %H:%M} {self.product.name}"

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("The end must be after the start.")})
        if self.hotline_id and self.station_id and self.hotline.station_id != self.station_id:
            raise ValidationError({"hotline": _("This hotline belongs to another station.")})
