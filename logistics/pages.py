"""Courier settings pages for the people who maintain them, without the admin: export
templates (ordered columns: header text and what fills each; add, remove, reorder),
default courier by province, freight rules, courier status mappings.

Permission-gated by the models' permissions (view to list, add/change/delete to write),
every write audited through ``logistics.services.rules``; bad input comes back in the form
with a 400.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from logistics.choices import ColumnSource, ExportFormat
from logistics.models import (
    ExportTemplate,
    FreightRule,
    ProvinceCourier,
    StatusMapping,
)
from logistics.services import rules
from tvshop.audit.pages import ServiceFormPage
from tvshop.catalog.models import Courier
from tvshop.errors import DomainError


# --- rules: province → courier, freight, status mappings -------------------------------------
class ProvinceCourierForm(forms.ModelForm):
    class Meta:
        model = ProvinceCourier
        fields = ["province", "courier"]


class FreightRuleForm(forms.ModelForm):
    class Meta:
        model = FreightRule
        fields = ["courier", "province", "first_kg", "additional_kg"]


class StatusMappingForm(forms.ModelForm):
    class Meta:
        model = StatusMapping
        fields = ["courier", "text", "status"]


RULES = {
    "province-couriers": {
        "model": ProvinceCourier,
        "form": ProvinceCourierForm,
        "title": gettext_lazy("Default courier by province"),
        "columns": [gettext_lazy("province"), gettext_lazy("courier")],
        "row": lambda o: [o.province.name, o.courier.name],
        "related": ["province", "courier"],
    },
    "freight-rules": {
        "model": FreightRule,
        "form": FreightRuleForm,
        "title": gettext_lazy("Freight rules"),
        "columns": [
            gettext_lazy("courier"),
            gettext_lazy("province"),
            gettext_lazy("first kilogram"),
            gettext_lazy("each further kilogram"),
        ],
        "row": lambda o: [
            o.courier.name,
            o.province.name if o.province_id else _("Any other province"),
            o.first_kg,
            o.additional_kg,
        ],
        "related": ["courier", "province"],
    },
    "status-mappings": {
        "model": StatusMapping,
        "form": StatusMappingForm,
        "title": gettext_lazy("Courier status mappings"),
        "columns": [
            gettext_lazy("courier"),
            gettext_lazy("courier's status text"),
            gettext_lazy("means"),
        ],
        "row": lambda o: [
            o.courier.name if o.courier_id else _("Every courier"),
            o.text,
            o.get_status_display(),
        ],
        "related": ["courier"],
    },
}


def _perm(kind: str, action: str) -> str:
    return f"logistics.{action}_{RULES[kind]['model']._meta.model_name}"


class RuleListPage(PermissionRequiredMixin, ListView):
    template_name = "logistics/rule_list.html"
    paginate_by = 50

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.kind = kwargs["kind"]
        if self.kind not in RULES:
            from django.http import Http404

            raise Http404

    def get_permission_required(self):
        return [_perm(self.kind, "view")]

    def get_queryset(self):
        spec = RULES[self.kind]
        return spec["model"].objects.select_related(*spec["related"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        spec = RULES[self.kind]
        user = self.request.user
        context.update(
            kind=self.kind,
            title=spec["title"],
            columns=spec["columns"],
            rows=[(o.pk, spec["row"](o)) for o in context["object_list"]],
            can_add=user.has_perm(_perm(self.kind, "add")),
            can_change=user.has_perm(_perm(self.kind, "change")),
            can_delete=user.has_perm(_perm(self.kind, "delete")),
        )
        return context


class RuleFormPage(ServiceFormPage):
    def setup(self, request, *args, **kwargs):
        self.kind = kwargs.get("kind")
        if self.kind not in RULES:
            from django.http import Http404

            raise Http404
        self.model = RULES[self.kind]["model"]
        self.form_class = RULES[self.kind]["form"]
        super().setup(request, *args, **kwargs)

    def get_permission_required(self):
        return [_perm(self.kind, "change" if "pk" in self.kwargs else "add")]

    def get_cancel_url(self) -> str:
        return reverse("logistics:rule_list", args=[self.kind])

    def save(self, form):
        return rules.rule_save(actor=self.request.user, instance=form.instance)


@login_required
@require_POST
def rule_delete(request, kind: str, pk: int):
    if kind not in RULES:
        raise PermissionDenied
    if not request.user.has_perm(_perm(kind, "delete")):
        raise PermissionDenied
    instance = get_object_or_404(RULES[kind]["model"], pk=pk)
    try:
        rules.rule_delete(actor=request.user, instance=instance)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Deleted."))
    return redirect("logistics:rule_list", kind)


# --- export templates ------------------------------------------------------------------------
class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    file_format = forms.ChoiceField(label=gettext_lazy("file format"), choices=ExportFormat.choices)
    sheet_name = forms.CharField(label=gettext_lazy("sheet name"), max_length=31, initial="Sheet1")
    note = forms.CharField(label=gettext_lazy("note"), max_length=300, required=False)


class ColumnForm(forms.Form):
    order = forms.IntegerField(label=gettext_lazy("order"), required=False, min_value=0)
    header = forms.CharField(label=gettext_lazy("header text"), max_length=60, required=False)
    source = forms.ChoiceField(
        label=gettext_lazy("filled with"),
        choices=[("", "---------"), *ColumnSource.choices],
        required=False,
    )
    fixed_value = forms.CharField(label=gettext_lazy("fixed value"), max_length=200, required=False)
    remove = forms.BooleanField(label=gettext_lazy("remove"), required=False)


ColumnFormSet = forms.formset_factory(ColumnForm, extra=3)


@login_required
def template_list(request):
    if not request.user.has_perm("logistics.view_exporttemplate"):
        raise PermissionDenied
    couriers = Courier.objects.select_related("export_template").order_by("name")
    templates = {
        t.courier_id: t
        for t in ExportTemplate.objects.prefetch_related("columns").filter(
            courier__in=list(couriers)
        )
    }
    return render(
        request,
        "logistics/template_list.html",
        {"rows": [(c, templates.get(c.pk)) for c in couriers]},
    )


@login_required
def template_edit(request, courier_id: int):
    """A courier's sheet layout: the rows in the order given by their "order" numbers
    (blank keeps the place); ticked "remove" drops a column; blank rows add nothing."""
    if not request.user.has_perm("logistics.change_exporttemplate"):
        raise PermissionDenied
    courier = get_object_or_404(Courier, pk=courier_id)
    template = ExportTemplate.objects.filter(courier=courier).first()
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        formset = ColumnFormSet(request.POST, prefix="columns")
        if form.is_valid() and formset.is_valid():
            columns = []
            for index, data in enumerate(formset.cleaned_data):
                if not data or data.get("remove"):
                    continue
                if not (data.get("header") or data.get("source") or data.get("fixed_value")):
                    continue
                order = data.get("order")
                columns.append(((order if order is not None else index + 1, index), data))
            columns.sort(key=lambda item: item[0])
            try:
                rules.export_template_save(
                    actor=request.user,
                    courier=courier,
                    columns=[data for _key, data in columns],
                    **form.cleaned_data,
                )
            except DomainError as exc:
                exc.add_to_form(form)
                status = 400
            else:
                messages.success(request, _("Template saved."))
                return redirect("logistics:template_edit", courier.pk)
        else:
            status = 400
    else:
        initial = {"name": courier.name, "file_format": ExportFormat.XLSX, "sheet_name": "Sheet1"}
        if template is not None:
            initial = {
                "name": template.name,
                "file_format": template.file_format,
                "sheet_name": template.sheet_name,
                "note": template.note,
            }
        form = TemplateForm(initial=initial)
        rows = []
        if template is not None:
            rows = [
                {
                    "order": c.position,
                    "header": c.header,
                    "source": c.source,
                    "fixed_value": c.fixed_value,
                }
                for c in template.columns.order_by("position", "id")
            ]
        formset = ColumnFormSet(initial=rows, prefix="columns")
    return render(
        request,
        "logistics/template_form.html",
        {"courier": courier, "template": template, "form": form, "formset": formset},
        status=status,
    )
