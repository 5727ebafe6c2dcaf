"""Forms for scripts and FAQ. They only clean input; the services check and save."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.choices import ScriptStage
from crm.models import FAQ, Script
from tvshop.catalog.models import Product


class ScriptForm(forms.ModelForm):
    class Meta:
        model = Script
        fields = ["title", "product", "stage", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "body": _(
                "Placeholders in braces are filled for the customer at hand, e.g. "
                "{name}{salutation}您好. Type braces in English input mode; {{ and }} "
                "write a literal brace."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("sku")
        self.fields["product"].empty_label = _("(all products)")


class FAQForm(forms.ModelForm):
    class Meta:
        model = FAQ
        fields = ["question", "product", "category", "keywords", "answer"]
        widgets = {"answer": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "keywords": _("Words agents may search for, separated by commas or spaces."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("sku")
        self.fields["product"].empty_label = _("(all products)")


class ScriptFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.order_by("sku"),
        required=False,
        empty_label=_("All products"),
    )
    stage = forms.ChoiceField(
        label=_("Stage"),
        choices=[("", _("All stages")), *ScriptStage.choices],
        required=False,
    )


class FAQFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.order_by("sku"),
        required=False,
        empty_label=_("All products"),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, categories: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", _("All categories")),
            *[(c, c) for c in categories],
        ]
