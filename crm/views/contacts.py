"""Pages for service records, tickets and inbound leads. Views call services for every
write and selectors for every read; permissions are checked here, on the server."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.choices import TicketStatus
from crm.forms.contacts import (
    LeadAssignForm,
    LeadStatusForm,
    ServiceRecordForm,
    TicketAssignForm,
    TicketCommentForm,
    TicketCreateForm,
    TicketStatusForm,
)
from crm.models import Customer, Lead, Ticket
from crm.selectors.contacts import (
    LeadFilter,
    ServiceRecordFilter,
    TicketFilter,
    customer_names,
    customer_service_records,
    customer_tickets,
    lead_by_number,
    lead_visible_to,
    service_record_list,
    ticket_get,
    ticket_history,
    ticket_list,
    with_masked_phones,
)
from crm.services.contacts import service_record_create
from crm.services.leads import lead_assign, lead_export, lead_set_status
from crm.services.tickets import (
    ticket_assign,
    ticket_comment,
    ticket_create,
    ticket_next_statuses,
    ticket_set_status,
)
from tvshop.errors import DomainError

PAGE_SIZE = 30
FRAGMENT_PAGE_SIZE = 10


def _page(request, queryset, per_page=PAGE_SIZE, param="page"):
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


# --- service records ----------------------------------------------------------------------


@login_required
@permission_required("crm.view_servicerecord", raise_exception=True)
@require_GET
def servicerecord_list(request):
    filterset = ServiceRecordFilter(request.GET, queryset=service_record_list(), request=request)
    page_obj = _page(request, filterset.qs)
    return render(
        request, "crm/servicerecord_list.html", {"filter": filterset, "page_obj": page_obj}
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_service_records_fragment(request, pk: int):
    """htmx fragment on the customer page: the customer's notes and an "add" form."""
    _require(
        request, "crm.add_servicerecord" if request.method == "POST" else "crm.view_servicerecord"
    )
    customer = get_object_or_404(Customer, pk=pk)
    status = 200
    form = ServiceRecordForm()
    if request.method == "POST":
        form = ServiceRecordForm(request.POST)
        if not form.is_valid():
            status = 400
        else:
            try:
                service_record_create(
                    actor=request.user,
                    customer=customer,
                    content=form.cleaned_data["content"],
                    channel=form.cleaned_data["channel"],
                )
            except DomainError as exc:
                exc.add_to_form(form)
                status = exc.status
            else:
                form = ServiceRecordForm()
    page_obj = _page(request, customer_service_records(customer=customer), FRAGMENT_PAGE_SIZE)
    return render(
        request,
        "crm/includes/servicerecords_panel.html",
        {"customer": customer, "page_obj": page_obj, "form": form},
        status=status,
    )


# --- tickets ------------------------------------------------------------------------------


@login_required
@permission_required("crm.view_ticket", raise_exception=True)
@require_GET
def ticket_list_view(request):
    filterset = TicketFilter(request.GET, queryset=ticket_list(), request=request)
    page_obj = _page(request, filterset.qs)
    return render(request, "crm/ticket_list.html", {"filter": filterset, "page_obj": page_obj})


@login_required
@permission_required("crm.add_ticket", raise_exception=True)
@require_http_methods(["GET", "POST"])
def ticket_create_view(request):
    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    if not raw.isdigit():
        return HttpResponseBadRequest(_("Open a ticket from the customer's page."))
    customer = get_object_or_404(Customer, pk=int(raw))
    status = 200
    if request.method == "POST":
        form = TicketCreateForm(request.POST)
        if form.is_valid():
            try:
                ticket = ticket_create(actor=request.user, customer=customer, **form.cleaned_data)
            except DomainError as exc:
                exc.add_to_form(form)
                status = exc.status
            else:
                messages.success(request, _("Ticket #%(n)d opened.") % {"n": ticket.pk})
                return redirect("crm:ticket_detail", pk=ticket.pk)
        else:
            status = 400
    else:
        form = TicketCreateForm(initial={"assignee": request.user.pk})
    return render(
        request, "crm/ticket_form.html", {"form": form, "customer": customer}, status=status
    )


def _ticket_detail_response(request, ticket: Ticket, *, status=200, **forms):
    ticket = ticket_get(pk=ticket.pk)
    can_change = request.user.has_perm("crm.change_ticket")
    next_statuses = ticket_next_statuses(ticket=ticket, user=request.user) if can_change else []
    context = {
        "ticket": ticket,
        "history": ticket_history(ticket=ticket),
        "can_change": can_change,
        "next_statuses": [(s, TicketStatus(s).label) for s in next_statuses],
        "status_form": forms.get("status_form") or TicketStatusForm(),
        "assign_form": forms.get("assign_form")
        or TicketAssignForm(initial={"assignee": ticket.assignee_id}),
        "comment_form": forms.get("comment_form") or TicketCommentForm(),
    }
    return render(request, "crm/ticket_detail.html", context, status=status)


@login_required
@permission_required("crm.view_ticket", raise_exception=True)
@require_GET
def ticket_detail(request, pk: int):
    ticket = get_object_or_404(Ticket, pk=pk)
    return _ticket_detail_response(request, ticket)


def _ticket_action(request, pk, form_class, form_name, run, success_message):
    ticket = get_object_or_404(Ticket, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _ticket_detail_response(request, ticket, status=400, **{form_name: form})
    try:
        run(ticket, form.cleaned_data)
    except DomainError as exc:
        exc.add_to_form(form)
        return _ticket_detail_response(request, ticket, status=exc.status, **{form_name: form})
    messages.success(request, success_message)
    return redirect("crm:ticket_detail", pk=ticket.pk)


@login_required
@permission_required("crm.change_ticket", raise_exception=True)
@require_POST
def ticket_set_status_view(request, pk: int):
    return _ticket_action(
        request,
        pk,
        TicketStatusForm,
        "status_form",
        lambda t, d: ticket_set_status(
            actor=request.user, ticket=t, to_status=d["to_status"], note=d["note"]
        ),
        _("Status changed."),
    )


@login_required
@permission_required("crm.change_ticket", raise_exception=True)
@require_POST
def ticket_assign_view(request, pk: int):
    return _ticket_action(
        request,
        pk,
        TicketAssignForm,
        "assign_form",
        lambda t, d: ticket_assign(
            actor=request.user, ticket=t, assignee=d["assignee"], note=d["note"]
        ),
        _("Assignee changed."),
    )


@login_required
@permission_required("crm.change_ticket", raise_exception=True)
@require_POST
def ticket_comment_view(request, pk: int):
    return _ticket_action(
        request,
        pk,
        TicketCommentForm,
        "comment_form",
        lambda t, d: ticket_comment(actor=request.user, ticket=t, note=d["note"]),
        _("Comment added."),
    )


@login_required
@permission_required("crm.view_ticket", raise_exception=True)
@require_GET
def customer_tickets_fragment(request, pk: int):
    """htmx fragment on the customer page: the customer's tickets and a "new" link."""
    customer = get_object_or_404(Customer, pk=pk)
    page_obj = _page(request, customer_tickets(customer=customer), FRAGMENT_PAGE_SIZE)
    return render(
        request, "crm/includes/tickets_panel.html", {"customer": customer, "page_obj": page_obj}
    )


# --- leads --------------------------------------------------------------------------------


def _lead_list_response(request, query: QueryDict, *, assign_form=None, status=200):
    user = request.user
    filterset = LeadFilter(query, queryset=lead_visible_to(user=user), request=request)
    by_number = query.get("view") == "by_number"
    if by_number:
        page_obj = _page(request, lead_by_number(filterset.qs))
        names = customer_names(row["customer_id"] for row in page_obj.object_list)
        for row in page_obj.object_list:
            row["customer_name"] = names.get(row["customer_id"], "")
    else:
        page_obj = _page(request, filterset.qs)
    with_masked_phones(page_obj.object_list, user=user)
    can_assign = user.has_perm("crm.assign_lead")
    if can_assign and assign_form is None:
        assign_form = LeadAssignForm(leads_queryset=Lead.objects.none())
    filters = query.copy()
    for key in ("page", "view"):
        filters.pop(key, None)
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "by_number": by_number,
        "assign_form": assign_form if can_assign else None,
        "can_export": user.has_perm("crm.export_lead"),
        "filters_query": filters.urlencode(),
    }
    return render(request, "crm/lead_list.html", context, status=status)


@login_required
@permission_required("crm.view_lead", raise_exception=True)
@require_GET
def lead_list(request):
    return _lead_list_response(request, request.GET)


@login_required
@permission_required("crm.assign_lead", raise_exception=True)
@require_POST
def lead_assign_view(request):
    filters = QueryDict(request.POST.get("filters", ""))
    visible = lead_visible_to(user=request.user)
    form = LeadAssignForm(request.POST, leads_queryset=visible)
    if not form.is_valid():
        return _lead_list_response(request, filters, assign_form=form, status=400)
    if request.POST.get("scope") == "filtered":
        leads = LeadFilter(filters, queryset=visible, request=request).qs
    else:
        leads = form.cleaned_data["leads"]
    try:
        given = lead_assign(
            actor=request.user,
            leads=leads,
            strategy=form.cleaned_data["strategy"],
            agents=form.chosen_agents(),
            station_agents=form.station_agents(),
        )
    except DomainError as exc:
        exc.add_to_form(form)
        return _lead_list_response(request, filters, assign_form=form, status=exc.status)
    total = sum(given.values())
    messages.success(
        request,
        ngettext(
            "%(n)d lead assigned to %(a)d agent(s).",
            "%(n)d leads assigned to %(a)d agent(s).",
            total,
        )
        % {"n": total, "a": len(given)},
    )
    return redirect(reverse("crm:lead_list") + ("?" + filters.urlencode() if filters else ""))


@login_required
@permission_required("crm.export_lead", raise_exception=True)
@require_GET
def lead_export_view(request):
    filterset = LeadFilter(
        request.GET, queryset=lead_visible_to(user=request.user), request=request
    )
    query = request.GET.copy()
    query.pop("format", None)
    try:
        export = lead_export(
            actor=request.user,
            leads=filterset.qs,
            fmt=request.GET.get("format", "xlsx"),
            filters=query.urlencode(),
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@login_required
@permission_required("crm.view_lead", raise_exception=True)
@require_POST
def lead_set_status_view(request, pk: int):
    lead = get_object_or_404(lead_visible_to(user=request.user), pk=pk)
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a valid status."))
    try:
        lead_set_status(actor=request.user, lead=lead, to_status=form.cleaned_data["to_status"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _lead_list_response(request, QueryDict(), status=exc.status)
    messages.success(request, _("Lead updated."))
    back = request.POST.get("next", "")
    return redirect(reverse("crm:lead_list") + ("?" + back if back else ""))
