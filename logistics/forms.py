from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Division
from logistics.choices import ExportFormat, ImportKind
from tvshop.catalog.models import Courier
from tvshop.media.models import Station


class ExportForm(forms.Form):
    """The clerk's filter for a shipping export (second-approved orders)."""

    courier = forms.ModelChoiceField(
        queryset=Courier.objects.filter(active=True).order_by("name"),
        required=False,
        label=_("courier"),
        empty_label=_("All couriers (one file each)"),
    )
    province = forms.ModelChoiceField(
        queryset=Division.objects.filter(level=1).order_by("code"),
        required=False,
        label=_("province"),
    )
    station = forms.ModelChoiceField(
        queryset=Station.objects.order_by("name"), required=False, label=_("TV station")
    )
    date_from = forms.DateField(
        required=False, label=_("approved from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("approved to"), widget=forms.DateInput(attrs={"type": "date"})
    )
    file_format = forms.ChoiceField(
        choices=[("", _("As the courier's template says")), *ExportFormat.choices],
        required=False,
        label=_("file format"),
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class ReissueForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, label=_("kind"))
    courier = forms.ModelChoiceField(
        queryset=Courier.objects.order_by("name"),
        required=False,
        label=_("courier"),
        help_text=_("Rows of other couriers' orders are then refused."),
    )
    file = forms.FileField(label=_("file (.xlsx or .csv)"))


class TrackingSearchForm(forms.Form):
    q = forms.CharField(label=_("order number, phone or waybill"), max_length=40, required=False)
