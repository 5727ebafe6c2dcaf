from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.choices import (
    ContactChannel,
    CustomerLevel,
    DivisionLevel,
    LeadStatus,
    PhoneKind,
    Salutation,
    ScriptStage,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from tvshop.catalog.models import Product
from tvshop.media.models import Hotline, Station

USER = settings.AUTH_USER_MODEL


class Division(models.Model):
    """An administrative division of the PRC (GB/T 2260): province, city or district."""

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.PositiveSmallIntegerField(_("level"), choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("administrative division")
        verbose_name_plural = _("administrative divisions")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "name"])]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A person who called or bought: the record that pops up on the agent's screen."""

    name = models.CharField(_("name"), max_length=50, db_index=True)
    salutation = models.CharField(
        _("salutation"), max_length=10, choices=Salutation.choices, blank=True
    )
    level = models.CharField(
        _("level"), max_length=20, choices=CustomerLevel.choices, default=CustomerLevel.NORMAL
    )
    member_no = models.CharField(
        _("member number"), max_length=20, unique=True, null=True, blank=True
    )
    pin_hash = models.CharField(_("PIN"), max_length=128, blank=True)
    points_balance = models.IntegerField(_("points"), default=0)
    source_station = models.ForeignKey(
        Station,
        verbose_name=_("source station"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [
            ("view_full_phone", _("Can see full phone numbers")),
            ("reveal_phone", _("Can reveal a masked phone number (audited)")),
            ("merge_customer", _("Can merge duplicate customers")),
            ("import_customer", _("Can import customers")),
            ("export_customer", _("Can export customers")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_vip(self) -> bool:
        return self.level == CustomerLevel.VIP

    @property
    def is_blacklisted(self) -> bool:
        return self.level == CustomerLevel.BLACKLISTED


class CustomerPhone(models.Model):
    """A phone number of a customer, stored in E.164 form; one number, one customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PhoneKind.choices)
    province = models.CharField(_("home province"), max_length=30, blank=True)
    city = models.CharField(_("home city"), max_length=30, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.number


class Address(models.Model):
    """A delivery address of a customer; one of them is the default."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="addresses"
    )
    recipient = models.CharField(_("recipient"), max_length=50, blank=True)
    phone = models.CharField(_("recipient phone"), max_length=20, blank=True)
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
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True),
                name="address_one_default_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


class PointsEntry(models.Model):
    """One movement of a customer's points (积分); the balance is on the customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="points"
    )
    delta = models.IntegerField(_("change"))
    balance_after = models.IntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=200)
    order_ref = models.CharField(_("order"), max_length=40, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer} {self.delta:+d}"


class ServiceRecord(models.Model):
    """A note per contact with a customer (服务记录)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="service_records",
    )
    agent = models.ForeignKey(USER, verbose_name=_("agent"), on_delete=models.PROTECT)
    at = models.DateTimeField(_("time"))
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=ContactChannel.choices,
        default=ContactChannel.INBOUND_CALL,
    )
    content = models.TextField(_("content"))
    call_uuid = models.CharField(_("call"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"]),
            models.Index(fields=["-at", "-id"], name="servicerecord_at_idx"),
            models.Index(fields=["agent", "-at"], name="servicerecord_agent_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.at:%Y-%m-%d %H:%M}"


class Ticket(models.Model):
    """A complaint, after-sales case or consultation that needs follow-up."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="tickets"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TicketKind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    assignee = models.ForeignKey(
        USER,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TicketEvent(models.Model):
    """A step in a ticket's history: creation, status change, reassignment or comment."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STATUS = "status", _("Status change")
        ASSIGN = "assign", _("Reassignment")
        COMMENT = "comment", _("Comment")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(USER, verbose_name=_("by"), on_delete=models.PROTECT)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    from_status = models.CharField(
        _("from"), max_length=20, choices=TicketStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=TicketStatus.choices, blank=True)
    assignee = models.ForeignKey(
        USER,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.from_status}->{self.to_status}"


class Lead(models.Model):
    """An inbound caller (进线): one record per caller number per day."""

    phone = models.CharField(_("phone"), max_length=20)
    day = models.DateField(_("day"))
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    hotline = models.ForeignKey(
        Hotline, verbose_name=_("hotline"), null=True, blank=True, on_delete=models.SET_NULL
    )
    station = models.ForeignKey(
        Station, verbose_name=_("TV station"), null=True, blank=True, on_delete=models.SET_NULL
    )
    first_at = models.DateTimeField(_("first call"))
    last_at = models.DateTimeField(_("last call"))
    call_count = models.PositiveIntegerField(_("calls"), default=1)
    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    assigned_to = models.ForeignKey(
        USER,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound lead")
        verbose_name_plural = _("inbound leads")
        ordering = ["-day", "-last_at"]
        permissions = [
            ("assign_lead", _("Can assign leads to agents")),
            ("export_lead", _("Can export leads")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["phone", "day"], name="lead_one_per_phone_per_day")
        ]
        indexes = [
            models.Index(fields=["-day", "-last_at"], name="lead_day_last_idx"),
            models.Index(fields=["assigned_to", "-day"], name="lead_assigned_day_idx"),
            models.Index(fields=["station", "-day"], name="lead_station_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.day}"


class Script(models.Model):
    """What an agent says (话术) for a product and a stage of the call, with placeholders.

    The body holds placeholders such as ``{name}`` that are filled for the customer at
    hand (``crm.services.knowledge``: ``PLACEHOLDERS``, ``script_render``); the service
    that saves a script refuses unknown ones. A script without a product applies to all.
    """

    title = models.CharField(_("title"), max_length=120)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT
    )
    stage = models.CharField(_("stage"), max_length=30, choices=ScriptStage.choices)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        USER, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["product__sku", "stage", "id"]
        indexes = [models.Index(fields=["stage", "product"], name="script_stage_product_idx")]

    def __str__(self) -> str:
        return self.title


class FAQ(models.Model):
    """A question and answer agents look up during calls.

    ``search_terms`` holds the index terms of question, answer and keywords
    (``crm.chinese_search.text_terms``), kept by ``crm.services.knowledge.faq_save``; on
    PostgreSQL a GIN index over it serves ``crm.selectors.knowledge.faq_search``. Code
    that bulk-creates entries must fill it with ``faq_search_terms``.
    """

    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer"))
    product = models.ForeignKey(
        Product, verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT
    )
    category = models.CharField(_("category"), max_length=50, blank=True)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    search_terms = models.TextField(_("search terms"), blank=True, default="", editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        USER, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["category"], name="faq_category_idx"),
            models.Index(fields=["-updated_at", "-id"], name="faq_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.question
