"""Media pages: TV stations, hotlines and the airing schedule.

Everyone with view rights reads them; supervisors schedule airing slots (add/change);
administrators also edit stations and hotlines. Writes go through ``tvshop.media.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from tvshop.audit.pages import ListPage, ServiceFormPage, model_fields
from tvshop.errors import DomainError
from tvshop.media import selectors, services
from tvshop.media.filters import AiringSlotFilter, HotlineFilter, StationFilter
from tvshop.media.forms import AiringSlotForm, HotlineForm, StationForm
from tvshop.media.models import AiringSlot, Hotline, Station


class StationListView(ListPage):
    permission_required = "media.view_station"
    filterset_class = StationFilter
    template_name = "media/station_list.html"
    results_template_name = "media/_station_results.html"

    def base_queryset(self):
        return selectors.station_list()


class StationFormView(ServiceFormPage):
    model = Station
    form_class = StationForm
    cancel_url_name = "media:station_list"

    def get_permission_required(self):
        return ["media.change_station" if "pk" in self.kwargs else "media.add_station"]

    def save(self, form):
        data = model_fields(form, services.STATION_FIELDS)
        if self.object is None:
            return services.station_create(actor=self.request.user, **data)
        return services.station_update(actor=self.request.user, station=self.object, **data)


class HotlineListView(ListPage):
    permission_required = "media.view_hotline"
    filterset_class = HotlineFilter
    template_name = "media/hotline_list.html"
    results_template_name = "media/_hotline_results.html"

    def base_queryset(self):
        return selectors.hotline_list()


class HotlineFormView(ServiceFormPage):
    model = Hotline
    form_class = HotlineForm
    cancel_url_name = "media:hotline_list"

    def get_permission_required(self):
        return ["media.change_hotline" if "pk" in self.kwargs else "media.add_hotline"]

    def save(self, form):
        data = model_fields(form, services.HOTLINE_FIELDS)
        if self.object is None:
            return services.hotline_create(actor=self.request.user, **data)
        return services.hotline_update(actor=self.request.user, hotline=self.object, **data)


class AiringSlotListView(ListPage):
    permission_required = "media.view_airingslot"
    filterset_class = AiringSlotFilter
    template_name = "media/airingslot_list.html"
    results_template_name = "media/_airingslot_results.html"
    paginate_by = 50

    def base_queryset(self):
        queryset = selectors.airing_slot_list()
        # A date range reads as a schedule (earliest first); otherwise the latest first.
        if self.request.GET.get("date_from") or self.request.GET.get("date_to"):
            return queryset.order_by("start", "station__name")
        return queryset.order_by("-start", "station__name")


class AiringSlotFormView(ServiceFormPage):
    model = AiringSlot
    form_class = AiringSlotForm
    cancel_url_name = "media:airingslot_list"

    def get_permission_required(self):
        return ["media.change_airingslot" if "pk" in self.kwargs else "media.add_airingslot"]

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(
            AiringSlot.objects.select_related("station", "product"), pk=self.kwargs["pk"]
        )

    def get_initial(self):
        initial = super().get_initial()
        if self.object is None:
            for name in ("station", "product", "hotline"):
                if self.request.GET.get(name):
                    initial[name] = self.request.GET[name]
        return initial

    def save(self, form):
        data = model_fields(form, services.AIRING_SLOT_FIELDS)
        if self.object is None:
            return services.airing_slot_create(actor=self.request.user, **data)
        return services.airing_slot_update(actor=self.request.user, slot=self.object, **data)

    def after_save(self) -> None:
        for other in selectors.airing_slot_overlaps(slot=self.object):
            messages.warning(
                self.request,
                _("Overlaps another slot of this station: %(start)s–%(end)s %(product)s")
                % {
                    "start": timezone.localtime(other.start).strftime("%Y-%m-%d %H:%M"),
                    "end": timezone.localtime(other.end).strftime("%H:%M"),
                    "product": other.product.name,
                },
            )


class AiringSlotDeleteView(PermissionRequiredMixin, View):
    permission_required = "media.delete_airingslot"

    def get(self, request, pk):
        slot = get_object_or_404(AiringSlot.objects.select_related("station", "product"), pk=pk)
        return render(request, "media/airingslot_confirm_delete.html", {"object": slot})

    def post(self, request, pk):
        slot = get_object_or_404(AiringSlot.objects.select_related("station", "product"), pk=pk)
        try:
            services.airing_slot_delete(actor=request.user, slot=slot)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The airing slot was deleted."))
        return redirect("media:airingslot_list")
