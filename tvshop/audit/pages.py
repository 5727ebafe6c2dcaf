"""Building blocks for the site's list and edit pages (base data, audit log, users).

* :class:`ListPage` — a permission-checked, filtered (django-filter), paginated list; an
  htmx request (the search toolbar) gets only the results fragment.
* :class:`ServiceFormPage` — a permission-checked form whose valid data goes to a service;
  a :class:`~tvshop.errors.DomainError` from the service becomes form errors.

Anonymous users are sent to the log-in page; logged-in users without the permission get 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, ListView

from tvshop.errors import DomainError


def yes_no_any() -> forms.Select:
    """Widget for a BooleanFilter: any / yes / no."""
    return forms.Select(
        choices=[
            ("", gettext_lazy("Any")),
            ("true", gettext_lazy("Yes")),
            ("false", gettext_lazy("No")),
        ]
    )


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


class ListPage(PermissionRequiredMixin, ListView):
    """Subclasses set ``permission_required``, ``filterset_class``, ``template_name``,
    ``results_template_name`` and implement ``base_queryset``."""

    filterset_class = None
    results_template_name: str = ""
    paginate_by = 25

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        queryset = self.base_queryset()
        if self.filterset_class is None:
            self.filterset = None
            return queryset
        self.filterset = self.filterset_class(
            self.request.GET or None, queryset=queryset, request=self.request
        )
        return self.filterset.qs

    def get_template_names(self):
        if is_htmx(self.request) and self.results_template_name:
            return [self.results_template_name]
        return super().get_template_names()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        return context


class ServiceFormPage(PermissionRequiredMixin, FormView):
    """Create (no ``pk`` in the URL) or edit (``pk``) one object through a service.

    Subclasses set ``model`` and ``form_class``, name the permission
    (``permission_required`` or ``get_permission_required``, usually add vs change) and
    implement ``save(form) -> object``, which calls a service.
    """

    model: type[models.Model]
    template_name = "audit/page_form.html"
    success_message = gettext_lazy("Saved.")
    cancel_url_name = ""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = None

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        # Permission first (403 before any lookup), then the object.
        if not self.has_permission():
            return self.handle_no_permission()
        self.object = self.get_object()
        return super(PermissionRequiredMixin, self).dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if issubclass(self.form_class, forms.ModelForm):
            kwargs["instance"] = self.object
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["verbose_name"] = self.model._meta.verbose_name
        context["title"] = self.get_title()
        context["cancel_url"] = self.get_cancel_url()
        return context

    def get_title(self) -> str:
        name = self.model._meta.verbose_name
        if self.object is None:
            return _("New %(thing)s") % {"thing": name}
        return _("Edit %(thing)s: %(object)s") % {"thing": name, "object": self.object}

    def get_cancel_url(self) -> str:
        from django.urls import reverse

        return reverse(self.cancel_url_name) if self.cancel_url_name else "/"

    def get_success_url(self) -> str:
        return self.get_cancel_url()

    def save(self, form):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.object = self.save(form)
        except DomainError as exc:
            exc.add_to_form(form)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        self.after_save()
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        # Bad input is refused with a 4xx status (the page shows the form errors).
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def after_save(self) -> None:
        """Hook for warnings shown after a successful save."""


def model_fields(form: forms.Form, names) -> dict:
    """The cleaned values of ``names`` (the fields a service accepts)."""
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}
