"""Pages for scripts (话术) and FAQ. Reads through selectors, writes through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, ListView, TemplateView

from crm.chinese_search import highlight, query_fragments, snippet
from crm.forms.knowledge import FAQFilterForm, FAQForm, ScriptFilterForm, ScriptForm
from crm.models import FAQ, Customer, Script
from crm.selectors import knowledge as selectors
from crm.services import knowledge as services
from tvshop.errors import DomainError

QUICK_SEARCH_LIMIT = 8
CUSTOMER_CHOICES_LIMIT = 10


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


class _FilteredList(PermissionRequiredMixin, ListView):
    """A paginated list with a GET filter form; an htmx request gets the results only."""

    paginate_by = 25
    results_template_name = ""
    raise_exception = True

    def get_filter_form(self):
        raise NotImplementedError

    def get_template_names(self):
        if _is_htmx(self.request):
            return [self.results_template_name]
        return super().get_template_names()

    def filters(self) -> dict:
        form = self.filter_form
        return form.cleaned_data if form.is_valid() else {}

    def get_queryset(self):
        self.filter_form = self.get_filter_form()
        return self.filtered_queryset(self.filters())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        return context


class _ServiceForm(PermissionRequiredMixin, FormView):
    """Create (no ``pk``) or edit (``pk``) one object through a service."""

    model: type
    add_permission = ""
    change_permission = ""
    raise_exception = True

    def get_permission_required(self):
        return [self.change_permission if "pk" in self.kwargs else self.add_permission]

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.object = (
            get_object_or_404(self.model, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None
        )
        return super(PermissionRequiredMixin, self).dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.object}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.object}

    def form_valid(self, form):
        try:
            self.object = self.save(form.cleaned_data)
        except DomainError as exc:
            exc.add_to_form(form)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved."))
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- scripts ----------------------------------------------------------------------------


class ScriptListView(_FilteredList):
    permission_required = "crm.view_script"
    template_name = "crm/script_list.html"
    results_template_name = "crm/includes/script_results.html"

    def get_filter_form(self):
        return ScriptFilterForm(self.request.GET or None)

    def filtered_queryset(self, filters):
        return selectors.script_list(
            product=filters.get("product"),
            stage=filters.get("stage") or "",
            q=filters.get("q") or "",
        )


class ScriptFormView(_ServiceForm):
    model = Script
    form_class = ScriptForm
    template_name = "crm/script_form.html"
    add_permission = "crm.add_script"
    change_permission = "crm.change_script"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["placeholders"] = [
            (f"{{{k}}}", label) for k, label in services.PLACEHOLDERS.items()
        ]
        return context

    def save(self, data):
        return services.script_save(
            actor=self.request.user,
            script=self.object,
            title=data["title"],
            product=data["product"],
            stage=data["stage"],
            body=data["body"],
            active=data["active"],
        )

    def get_success_url(self):
        return reverse("crm:script_preview", args=[self.object.pk])


class ScriptPreviewView(PermissionRequiredMixin, DetailView):
    """The script rendered for a chosen customer (``?customer=<id>``); ``?find=`` lists
    customers by name to choose from."""

    permission_required = "crm.view_script"
    raise_exception = True
    model = Script
    template_name = "crm/script_preview.html"
    context_object_name = "script"

    def get_queryset(self):
        return Script.objects.select_related("product", "updated_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer_id = self.request.GET.get("customer", "").strip()
        find = self.request.GET.get("find", "").strip()
        may_see_customers = self.request.user.has_perm("crm.view_customer")
        if (customer_id or find) and not may_see_customers:
            raise PermissionDenied
        customer = None
        if customer_id:
            if not customer_id.isdigit():
                customer_id = "0"
            customer = get_object_or_404(Customer, pk=int(customer_id))
        context["customer"] = customer
        context["find"] = find
        context["may_choose_customer"] = may_see_customers
        context["candidates"] = (
            list(
                Customer.objects.filter(name__icontains=find, merged_into__isnull=True).order_by(
                    "name", "id"
                )[:CUSTOMER_CHOICES_LIMIT]
            )
            if find
            else []
        )
        context["rendered"] = services.script_render(
            script=self.object, customer=customer, agent=self.request.user
        )
        return context


# --- FAQ --------------------------------------------------------------------------------


def _faq_rows(faqs, query: str) -> list[dict]:
    fragments = query_fragments(query)
    return [
        {
            "faq": faq,
            "question": highlight(faq.question, fragments),
            "snippet": snippet(faq.answer, fragments),
        }
        for faq in faqs
    ]


class FAQListView(_FilteredList):
    permission_required = "crm.view_faq"
    template_name = "crm/faq_list.html"
    results_template_name = "crm/includes/faq_results.html"

    def get_filter_form(self):
        return FAQFilterForm(self.request.GET or None, categories=selectors.faq_categories())

    def filtered_queryset(self, filters):
        return selectors.faq_list(
            q=filters.get("q") or "",
            product=filters.get("product"),
            category=filters.get("category") or None,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.filters().get("q") or ""
        context["q"] = query
        context["rows"] = _faq_rows(context["page_obj"].object_list, query)
        return context


class FAQQuickSearchView(PermissionRequiredMixin, TemplateView):
    """A compact result list for ``?q=`` (embedded by the agent desktop via htmx)."""

    permission_required = "crm.view_faq"
    raise_exception = True
    template_name = "crm/includes/faq_quick_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "")[:100]
        context["q"] = query
        context["has_query"] = bool(query_fragments(query))
        faqs = selectors.faq_search(query, limit=QUICK_SEARCH_LIMIT)
        context["rows"] = _faq_rows(faqs, query)
        return context


class FAQDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "crm.view_faq"
    raise_exception = True
    model = FAQ
    template_name = "crm/faq_detail.html"
    context_object_name = "faq"

    def get_queryset(self):
        return FAQ.objects.select_related("product", "updated_by").defer("search_terms")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["keyword_list"] = [w for w in self.object.keywords.split(",") if w]
        return context


class FAQFormView(_ServiceForm):
    model = FAQ
    form_class = FAQForm
    template_name = "crm/faq_form.html"
    add_permission = "crm.add_faq"
    change_permission = "crm.change_faq"

    def save(self, data):
        return services.faq_save(
            actor=self.request.user,
            faq=self.object,
            question=data["question"],
            answer=data["answer"],
            product=data["product"],
            category=data["category"],
            keywords=data["keywords"],
        )

    def get_success_url(self):
        return reverse("crm:faq_detail", args=[self.object.pk])


class FAQDeleteView(PermissionRequiredMixin, DetailView):
    """GET asks for confirmation, POST deletes."""

    permission_required = "crm.delete_faq"
    raise_exception = True
    model = FAQ
    template_name = "crm/faq_confirm_delete.html"
    context_object_name = "faq"

    def post(self, request, *args, **kwargs):
        faq = self.get_object()
        services.faq_delete(actor=request.user, faq=faq)
        messages.success(request, _("The FAQ entry was deleted."))
        return HttpResponseRedirect(reverse("crm:faq_list"))
