"""The navigation: only what the user's roles allow (the views check again on the server)."""

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

# (section, label, url name, permission needed)
NAV_ITEMS = [
    (_("Telephony"), _("Agent desktop"), "telephony:desktop", "telephony.use_desktop"),
    (_("Telephony"), _("My callbacks"), "callbacks:mine", "callbacks.work_callbackrequest"),
    (_("Telephony"), _("Callback backlog"), "callbacks:backlog", "callbacks.view_callbackrequest"),
    (_("Telephony"), _("Routing"), "routing:policy_list", "routing.view_routingpolicy"),
    (_("Telephony"), _("Wallboard"), "telephony:wallboard", "telephony.view_wallboard"),
    (_("Telephony"), _("Recordings"), "telephony:recording_list", "telephony.listen_recording"),
    (_("Customers"), _("Customers"), "crm:customer_list", "crm.view_customer"),
    (_("Customers"), _("Service records"), "crm:servicerecord_list", "crm.view_servicerecord"),
    (_("Customers"), _("Tickets"), "crm:ticket_list", "crm.view_ticket"),
    (_("Customers"), _("Inbound leads"), "crm:lead_list", "crm.view_lead"),
    (_("Orders"), _("My orders"), "orders:my_orders", "orders.add_order"),
    (_("Orders"), _("First review"), "orders:review_first", "orders.review_first"),
    (_("Orders"), _("Second review"), "orders:review_second", "orders.review_second"),
    (_("Finance"), _("Receivables"), "orders:receivable_list", "orders.view_payment"),
    (_("Finance"), _("Payment records"), "orders:payment_list", "orders.view_payment"),
    (_("Finance"), _("Returns"), "orders:return_list", "orders.view_orderreturn"),
    (_("Knowledge"), _("Scripts"), "crm:script_list", "crm.view_script"),
    (_("Knowledge"), _("FAQ"), "crm:faq_list", "crm.view_faq"),
    (_("Base data"), _("Products"), "catalog:product_list", "catalog.view_product"),
    (_("Base data"), _("Gifts"), "catalog:gift_list", "catalog.view_gift"),
    (_("Base data"), _("TV stations"), "media:station_list", "media.view_station"),
    (_("Base data"), _("Hotlines"), "media:hotline_list", "media.view_hotline"),
    (_("Base data"), _("Airing schedule"), "media:airingslot_list", "media.view_airingslot"),
    (_("Base data"), _("Couriers"), "catalog:courier_list", "catalog.view_courier"),
    (_("Logistics"), _("Shipping export"), "logistics:batch_list", "logistics.view_shipmentbatch"),
    (
        _("Logistics"),
        _("Courier file imports"),
        "logistics:import_list",
        "logistics.view_logisticsimport",
    ),
    (_("Logistics"), _("Tracking query"), "logistics:tracking", "logistics.view_shipment"),
    (
        _("Logistics"),
        _("Courier templates and rules"),
        "logistics:template_list",
        "logistics.view_exporttemplate",
    ),
    (
        _("Logistics"),
        _("Logistics statistics"),
        "logistics:statistics",
        "logistics.view_logistics_report",
    ),
    (_("Statistics"), _("Media statistics"), "reports:media", "reports.view_statistics"),
    (_("Statistics"), _("Queue statistics"), "reports:queues", "reports.view_statistics"),
    (_("Statistics"), _("Agent statistics"), "reports:agents", "reports.view_statistics"),
    (_("Statistics"), _("Call detail"), "reports:calls", "reports.view_statistics"),
    (_("System"), _("Audit log"), "audit:entry_list", "audit.view_auditentry"),
    (_("System"), _("Phone masking"), "accounts:masking", "accounts.manage_masking"),
    (_("System"), _("Users"), "accounts:user_list", "accounts.view_user"),
]


def navigation(request):
    """Lazily: htmx fragments that never show the navigation do not pay for it."""
    return {"nav_sections": SimpleLazyObject(lambda: _sections(request))}


def _sections(request) -> list:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    sections: dict[str, list[dict]] = {}
    for section, label, url_name, perm in NAV_ITEMS:
        if not user.has_perm(perm):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        sections.setdefault(str(section), []).append(
            {"label": label, "url": url, "active": request.path.startswith(url)}
        )
    return list(sections.items())
