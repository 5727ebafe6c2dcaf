"""Customer pages: list and search, create, page, edit, phones, addresses, merge,
import and export. Every view checks its permission; writes go through services."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.choices import CustomerLevel
from crm.forms.customers import (
    AddressForm,
    CustomerCreateForm,
    CustomerEditForm,
    CustomerImportForm,
    PhoneAddForm,
)
from crm.masking import REVEAL_PHONE_PERM, can_see_full_phone, phone_for_user
from crm.models import Address, Customer, CustomerPhone
from crm.phones import phone_display
from crm.resources import CustomerResource, dataset_from_upload, export_customers, row_problems
from crm.selectors.customers import (
    customer_get,
    customer_points,
    customer_search,
    division_children,
)
from crm.services import customers as services
from tvshop.errors import DomainError

PAGE_SIZE = 25
# Tabs of the customer page, loaded with hx-get; a tab shows once its URL exists.
CUSTOMER_TABS = [
    ("service-records", gettext_lazy("Service records"), "crm:customer_service_records"),
    ("tickets", gettext_lazy("Tickets"), "crm:customer_tickets"),
    ("orders", gettext_lazy("Orders"), "orders:customer_orders"),
    ("calls", gettext_lazy("Calls"), "telephony:customer_calls"),
    ("callbacks", gettext_lazy("Callbacks"), "telephony:customer_callbacks"),
    ("points", gettext_lazy("Points ledger"), "crm:customer_points"),
]
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
IMPORT_SESSION_KEY = "customer_import"


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _phone_rows(customer, user):
    full = can_see_full_phone(user)
    can_reveal = not full and user.has_perm(REVEAL_PHONE_PERM)
    return [
        {"phone": p, "shown": phone_for_user(p.number, user), "can_reveal": can_reveal}
        for p in customer.phones.all()
    ]


# --- list, search, export ---------------------------------------------------------------
def _search_params(request) -> tuple[str, str]:
    q = request.GET.get("q", "").strip()[:50]
    level = request.GET.get("level", "")
    if level not in CustomerLevel.values:
        level = ""
    return q, level


@login_required
@permission_required("crm.view_customer", raise_exception=True)
@require_GET
def customer_list(request):
    q, level = _search_params(request)
    page = Paginator(customer_search(q, level=level), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "customer": c,
            "phones": [phone_for_user(p.number, request.user) for p in c.phones.all()],
        }
        for c in page.object_list
    ]
    context = {"page_obj": page, "rows": rows, "q": q, "level": level, "levels": CustomerLevel}
    if _is_htmx(request) and request.headers.get("HX-Target") == "customer-results":
        return render(request, "crm/includes/customer_table.html", context)
    return render(request, "crm/customer_list.html", context)


@login_required
@permission_required("crm.export_customer", raise_exception=True)
@require_GET
def customer_export(request):
    q, level = _search_params(request)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return HttpResponseBadRequest(_("Unknown format."))
    queryset = customer_search(q, level=level).order_by("id")
    content, content_type = export_customers(queryset, user=request.user, fmt=fmt)
    count = queryset.count()
    services.customer_export_audit(
        actor=request.user,
        count=count,
        filters={"q": q, "level": level},
        fmt=fmt,
        masked=not can_see_full_phone(request.user),
        ip=_ip(request),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.{fmt}"'
    return response


# --- create, page, edit -----------------------------------------------------------------
@login_required
@permission_required("crm.add_customer", raise_exception=True)
def customer_create(request):
    if request.method == "POST":
        form = CustomerCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                customer = services.customer_create(
                    actor=request.user,
                    name=data["name"],
                    phones=form.phone_list(),
                    salutation=data["salutation"],
                    level=data["level"],
                    member_no=data["member_no"],
                    pin=data["pin"],
                    source_station=data["source_station"],
                    notes=data["notes"],
                    address=form.address_data(),
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Customer created."))
                return redirect("crm:customer_detail", pk=customer.pk)
    else:
        form = CustomerCreateForm(initial={"phones": request.GET.get("phone", "")[:30]})
    return render(request, "crm/customer_form.html", {"form": form, "creating": True})


def _tabs(customer):
    tabs = []
    for key, label, url_name in CUSTOMER_TABS:
        try:
            url = reverse(url_name, args=[customer.pk])
        except NoReverseMatch:
            continue
        tabs.append({"key": key, "label": label, "url": url})
    return tabs


@login_required
@permission_required("crm.view_customer", raise_exception=True)
@require_GET
def customer_detail(request, pk: int):
    try:
        customer = customer_get(pk)
    except Customer.DoesNotExist as exc:
        raise Http404 from exc
    context = {
        "customer": customer,
        "phone_rows": _phone_rows(customer, request.user),
        "addresses": list(customer.addresses.all()),
        "tabs": _tabs(customer),
        "phone_form": PhoneAddForm(),
        "can_change": request.user.has_perm("crm.change_customer") and not customer.merged_into_id,
    }
    return render(request, "crm/customer_detail.html", context)


@login_required
@permission_required("crm.view_customer", raise_exception=True)
@require_GET
def customer_points_tab(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    entries = customer_points(customer)
    return render(
        request, "crm/includes/customer_points.html", {"customer": customer, "entries": entries}
    )


@login_required
@permission_required("crm.change_customer", raise_exception=True)
def customer_edit(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    if request.method == "POST":
        form = CustomerEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.customer_update(
                    actor=request.user,
                    customer=customer,
                    name=data["name"],
                    salutation=data["salutation"],
                    level=data["level"],
                    member_no=data["member_no"],
                    pin=data["pin"],
                    source_station=data["source_station"],
                    notes=data["notes"],
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Customer saved."))
                return redirect("crm:customer_detail", pk=customer.pk)
    else:
        form = CustomerEditForm(
            initial={
                "name": customer.name,
                "salutation": customer.salutation,
                "level": customer.level,
                "member_no": customer.member_no,
                "source_station": customer.source_station_id,
                "notes": customer.notes,
            }
        )
    return render(
        request, "crm/customer_form.html", {"form": form, "customer": customer, "creating": False}
    )


# --- phones ---------------------------------------------------------------------------
@login_required
@permission_required("crm.change_customer", raise_exception=True)
@require_POST
def phone_add(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    form = PhoneAddForm(request.POST)
    if form.is_valid():
        try:
            services.customer_phone_add(
                actor=request.user,
                customer=customer,
                number=form.cleaned_data["number"],
                is_primary=form.cleaned_data["is_primary"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Phone number added."))
    else:
        messages.error(request, _("Enter a phone number."))
    return redirect("crm:customer_detail", pk=customer.pk)


@login_required
@permission_required("crm.change_customer", raise_exception=True)
@require_POST
def phone_remove(request, pk: int):
    phone = get_object_or_404(CustomerPhone, pk=pk)
    customer_id = phone.customer_id
    try:
        services.customer_phone_remove(actor=request.user, phone=phone)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Phone number removed."))
    return redirect("crm:customer_detail", pk=customer_id)


@login_required
@permission_required("crm.reveal_phone", raise_exception=True)
@require_POST
def phone_reveal(request, pk: int):
    """The full number of one phone as an htmx fragment; audited."""
    phone = get_object_or_404(CustomerPhone, pk=pk)
    number = services.phone_reveal(actor=request.user, phone=phone, ip=_ip(request))
    return render(
        request,
        "crm/includes/customer_phone_full.html",
        {"phone": phone, "display": phone_display(number)},
    )


# --- addresses ------------------------------------------------------------------------
@login_required
@permission_required("crm.change_customer", raise_exception=True)
def address_add(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    if request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                services.address_add(
                    actor=request.user,
                    customer=customer,
                    is_default=bool(request.POST.get("is_default")),
                    **form.address_data(),
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Address added."))
                return redirect("crm:customer_detail", pk=customer.pk)
    else:
        form = AddressForm()
    return render(request, "crm/customer_address_form.html", {"form": form, "customer": customer})


@login_required
@permission_required("crm.change_customer", raise_exception=True)
def address_edit(request, pk: int):
    address = get_object_or_404(Address.objects.select_related("customer"), pk=pk)
    if request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                services.address_update(actor=request.user, address=address, **form.address_data())
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Address saved."))
                return redirect("crm:customer_detail", pk=address.customer_id)
    else:
        form = AddressForm(
            initial={
                "province": address.province_id,
                "city": address.city_id,
                "district": address.district_id,
                "street": address.street,
                "postal_code": address.postal_code,
                "recipient": address.recipient,
                "phone": phone_display(address.phone) if address.phone else "",
            }
        )
    return render(
        request,
        "crm/customer_address_form.html",
        {"form": form, "customer": address.customer, "address": address},
    )


@login_required
@permission_required("crm.change_customer", raise_exception=True)
@require_POST
def address_set_default(request, pk: int):
    address = get_object_or_404(Address, pk=pk)
    services.address_set_default(actor=request.user, address=address)
    messages.success(request, _("Default address set."))
    return redirect("crm:customer_detail", pk=address.customer_id)


@login_required
@permission_required("crm.view_customer", raise_exception=True)
@require_GET
def division_children_options(request):
    """<option>s of the divisions under ``parent`` (or province/city, as htmx sends the
    changed select's own name and value)."""
    parent = (
        request.GET.get("parent") or request.GET.get("province") or request.GET.get("city") or ""
    )
    children = division_children(parent[:12]) if parent else []
    return render(request, "crm/includes/customer_division_options.html", {"divisions": children})


# --- merge ----------------------------------------------------------------------------
@login_required
@permission_required("crm.merge_customer", raise_exception=True)
def customer_merge(request, pk: int):
    """Merge another customer (the duplicate) into this one (the survivor)."""
    survivor = get_object_or_404(Customer, pk=pk)
    duplicate = None
    refusal = None
    if request.method == "POST":
        duplicate = get_object_or_404(Customer, pk=request.POST.get("duplicate") or 0)
        try:
            services.customer_merge(actor=request.user, survivor=survivor, duplicate=duplicate)
        except DomainError as exc:
            refusal = exc.message
        else:
            messages.success(
                request,
                _("%(dup)s (#%(id)s) was merged into this customer.")
                % {"dup": duplicate.name, "id": duplicate.pk},
            )
            return redirect("crm:customer_detail", pk=survivor.pk)
    q = request.GET.get("q", "").strip()[:50]
    candidates = []
    if q:
        candidates = [
            {
                "customer": c,
                "phones": [phone_for_user(p.number, request.user) for p in c.phones.all()],
            }
            for c in customer_search(q).exclude(pk=survivor.pk)[:20]
        ]
    if duplicate is None and request.GET.get("duplicate"):
        duplicate = Customer.objects.filter(pk=request.GET["duplicate"]).first()
    preview = None
    if duplicate is not None:
        if refusal is None:
            try:
                services.customer_merge_check(survivor=survivor, duplicate=duplicate)
            except DomainError as exc:
                refusal = exc.message
        preview = services.customer_merge_preview(survivor=survivor, duplicate=duplicate)
    context = {
        "survivor": survivor,
        "duplicate": duplicate,
        "q": q,
        "candidates": candidates,
        "preview": preview,
        "refusal": refusal,
        "survivor_phones": [phone_for_user(p.number, request.user) for p in survivor.phones.all()],
        "duplicate_phones": [phone_for_user(p.number, request.user) for p in duplicate.phones.all()]
        if duplicate
        else [],
    }
    refused_post = request.method == "POST" and refusal is not None
    return render(request, "crm/customer_merge.html", context, status=409 if refused_post else 200)


# --- import ---------------------------------------------------------------------------
def _import_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "customer_imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _forget_stale_imports(max_age_s: int = 24 * 3600) -> None:
    """Uploads never confirmed are removed after a day."""
    cutoff = time.time() - max_age_s
    for stale in _import_dir().glob("*.*"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)


def _import_path(token: str, fmt: str) -> Path:
    if not _TOKEN.match(token) or fmt not in ("xlsx", "csv"):
        raise Http404
    return _import_dir() / f"{token}.{fmt}"


def _run_import(request, content: bytes, fmt: str, *, dry_run: bool):
    dataset = dataset_from_upload(content, fmt)
    resource = CustomerResource(user=request.user)
    result = resource.import_data(
        dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True
    )
    counts = {
        "new": result.totals.get("new", 0),
        "update": result.totals.get("update", 0),
        "skip": result.totals.get("skip", 0),
        "invalid": len(result.invalid_rows) + len(result.row_errors()),
        "rows": result.total_rows,
    }
    problems = row_problems(result)
    return counts, problems


@login_required
@permission_required("crm.import_customer", raise_exception=True)
def customer_import(request):
    """Upload → dry-run preview (bad rows with line and reason, counts) → confirm."""
    context = {"form": CustomerImportForm()}
    if request.method == "POST":
        form = CustomerImportForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = "csv" if upload.name.lower().endswith(".csv") else "xlsx"
            content = upload.read()
            try:
                counts, problems = _run_import(request, content, fmt, dry_run=True)
            except ValueError as exc:
                form.add_error("file", str(exc))
            else:
                _forget_stale_imports()
                token = secrets.token_urlsafe(24)
                path = _import_path(token, fmt)
                path.write_bytes(content)
                path.chmod(0o600)
                request.session[IMPORT_SESSION_KEY] = {
                    "token": token,
                    "fmt": fmt,
                    "name": Path(upload.name).name[:100],
                }
                context.update(
                    {
                        "counts": counts,
                        "problems": problems,
                        "token": token,
                        "filename": Path(upload.name).name,
                    }
                )
    return render(request, "crm/customer_import.html", context)


@login_required
@permission_required("crm.import_customer", raise_exception=True)
@require_POST
def customer_import_confirm(request):
    pending = request.session.get(IMPORT_SESSION_KEY) or {}
    token = request.POST.get("token", "")
    if not pending or not secrets.compare_digest(token, pending.get("token", "")):
        messages.error(request, _("This import has expired; upload the file again."))
        return redirect("crm:customer_import")
    path = _import_path(token, pending["fmt"])
    if not path.exists():
        messages.error(request, _("This import has expired; upload the file again."))
        return redirect("crm:customer_import")
    counts, problems = _run_import(request, path.read_bytes(), pending["fmt"], dry_run=False)
    if problems:
        # Rolled back as a whole: the data changed since the preview.
        context = {
            "form": CustomerImportForm(),
            "counts": counts,
            "problems": problems,
            "token": token,
            "filename": pending["name"],
        }
        return render(request, "crm/customer_import.html", context, status=409)
    services.customer_import_audit(
        actor=request.user, filename=pending["name"], counts=counts, ip=_ip(request)
    )
    path.unlink(missing_ok=True)
    del request.session[IMPORT_SESSION_KEY]
    messages.success(
        request,
        _("Import done: %(new)s new, %(update)s updated, %(skip)s unchanged.") % counts,
    )
    return redirect("crm:customer_list")
