from django import forms

from tvshop.catalog.models import Product
from tvshop.media.models import AiringSlot, Hotline, Station
from tvshop.media.services import AIRING_SLOT_FIELDS, HOTLINE_FIELDS, STATION_FIELDS

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class StationForm(forms.ModelForm):
    class Meta:
        model = Station
        fields = STATION_FIELDS
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class HotlineForm(forms.ModelForm):
    class Meta:
        model = Hotline
        fields = HOTLINE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = Station.objects.order_by("name")
        self.fields["product"].queryset = Product.objects.order_by("sku")


class AiringSlotForm(forms.ModelForm):
    start = forms.DateTimeField(
        label=AiringSlot._meta.get_field("start").verbose_name,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    end = forms.DateTimeField(
        label=AiringSlot._meta.get_field("end").verbose_name,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )

    class Meta:
        model = AiringSlot
        fields = AIRING_SLOT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = Station.objects.order_by("name")
        self.fields["product"].queryset = Product.objects.order_by("sku")
        # The label names the station (Hotline.__str__): fetch it with the hotline.
        self.fields["hotline"].queryset = Hotline.objects.select_related("station").order_by(
            "number"
        )
