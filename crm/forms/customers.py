"""Forms of the customer pages. They validate input shape only; rules live in services."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from crm.choices import CustomerLevel, DivisionLevel, Salutation
from crm.models import Division
from crm.phones import split_phone_list
from tvshop.media.models import Station

IMPORT_MAX_BYTES = 5 * 1024 * 1024
ADDRESS_FIELDS = ("province", "city", "district", "street", "postal_code", "recipient", "phone")


class DivisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


def _division_select(target: str | None, level: int) -> forms.Select:
    attrs = {"data-division-level": str(level)}
    if target:
        attrs.update(
            {
                "hx-get": reverse_lazy("crm:division_children"),
                "hx-target": f"#id_{target}",
                "hx-trigger": "change",
            }
        )
    return forms.Select(attrs=attrs)


class AddressFieldsMixin:
    """Province → city → district selects; each lists the children of the one above
    (the page refreshes the lower list through ``crm:division_children`` with htmx)."""

    address_required = True

    def _add_address_fields(self):
        required = self.address_required
        self.fields["province"] = DivisionChoiceField(
            label=_("Province"),
            queryset=Division.objects.filter(level=DivisionLevel.PROVINCE),
            required=required,
            widget=_division_select("city", 1),
        )
        self.fields["city"] = DivisionChoiceField(
            label=_("City"),
            queryset=Division.objects.none(),
            required=required,
            widget=_division_select("district", 2),
        )
        self.fields["district"] = DivisionChoiceField(
            label=_("District"),
            queryset=Division.objects.none(),
            required=required,
            widget=_division_select(None, 3),
        )
        self.fields["street"] = forms.CharField(
            label=_("Street address"), max_length=200, required=required
        )
        self.fields["postal_code"] = forms.CharField(
            label=_("Postal code"), max_length=6, required=False
        )
        self.fields["recipient"] = forms.CharField(
            label=_("Recipient"), max_length=50, required=False
        )
        self.fields["phone"] = forms.CharField(
            label=_("Recipient phone"), max_length=30, required=False
        )
        province = self._value("province")
        city = self._value("city")
        if province:
            self.fields["city"].queryset = Division.objects.filter(parent_id=province)
        if city:
            self.fields["district"].queryset = Division.objects.filter(parent_id=city)

    def _value(self, name):
        if self.is_bound:
            return self.data.get(self.add_prefix(name)) or None
        value = self.initial.get(name)
        return getattr(value, "pk", value) or None

    def address_data(self) -> dict | None:
        data = {k: self.cleaned_data.get(k) for k in ADDRESS_FIELDS}
        if not any(data.values()):
            return None
        for key in ("street", "postal_code", "recipient", "phone"):
            data[key] = data[key] or ""
        return data


class CustomerCreateForm(AddressFieldsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    salutation = forms.ChoiceField(
        label=_("Salutation"), choices=Salutation.choices, required=False
    )
    level = forms.ChoiceField(
        label=_("Level"), choices=CustomerLevel.choices, initial=CustomerLevel.NORMAL
    )
    phones = forms.CharField(
        label=_("Phone numbers"),
        max_length=200,
        help_text=_("One or more, separated by ; or /"),
    )
    member_no = forms.CharField(
        label=_("Member number"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to generate one."),
    )
    pin = forms.CharField(
        label=_("PIN"), max_length=8, required=False, widget=forms.PasswordInput(render_value=False)
    )
    source_station = forms.ModelChoiceField(
        label=_("Source station"), queryset=Station.objects.filter(active=True), required=False
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea)

    address_required = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_address_fields()

    def clean(self):
        cleaned = super().clean()
        address = {k: cleaned.get(k) for k in ADDRESS_FIELDS}
        if any(address.values()):
            for key in ("province", "city", "district", "street"):
                if not address.get(key) and key not in self.errors:
                    self.add_error(key, _("Complete the address or leave it empty."))
        return cleaned

    def phone_list(self) -> list[str]:
        return split_phone_list(self.cleaned_data.get("phones", ""))


class CustomerEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    salutation = forms.ChoiceField(
        label=_("Salutation"), choices=Salutation.choices, required=False
    )
    level = forms.ChoiceField(label=_("Level"), choices=CustomerLevel.choices)
    member_no = forms.CharField(label=_("Member number"), max_length=20)
    pin = forms.CharField(
        label=_("PIN"),
        max_length=8,
        required=False,
        help_text=_("Leave empty to keep the current PIN."),
        widget=forms.PasswordInput(render_value=False),
    )
    source_station = forms.ModelChoiceField(
        label=_("Source station"), queryset=Station.objects.all(), required=False
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea)


class AddressForm(AddressFieldsMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_address_fields()


class PhoneAddForm(forms.Form):
    number = forms.CharField(label=_("Phone number"), max_length=30)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("Excel (.xlsx) or CSV (UTF-8), with a header row."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an .xlsx or .csv file."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload
