import django_filters
from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tvshop.accounts.models import User
from tvshop.accounts.roles import Role, role_label
from tvshop.audit.pages import yes_no_any


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, role_label(r.value)) for r in Role]


class MaskingForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles that see full phone numbers"),
        choices=role_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "All other roles see numbers masked, e.g. 138****8000; where their role allows, "
            "they may reveal a number, which is recorded in the audit log."
        ),
    )


class UserForm(forms.Form):
    """Create (password required) or edit (password optional) a user."""

    username = forms.CharField(label=_("user name"), max_length=150)
    full_name = forms.CharField(label=_("full name"), max_length=60, required=False)
    employee_no = forms.CharField(label=_("employee number"), max_length=20, required=False)
    language = forms.ChoiceField(label=_("interface language"), choices=settings.LANGUAGES)
    roles = forms.MultipleChoiceField(
        label=_("roles"),
        choices=role_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(
        label=_("active"),
        required=False,
        initial=True,
        help_text=_("Inactive users cannot log in."),
    )
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("password (again)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["password"].required = creating
        self.fields["password_confirm"].required = creating
        if not creating:
            self.fields["password"].help_text = _("Leave empty to keep the current password.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") != cleaned.get("password_confirm"):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return cleaned


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("user name, name or employee number"))
    role = django_filters.ChoiceFilter(choices=role_choices, method="filter_role", label=_("role"))
    is_active = django_filters.BooleanFilter(label=_("active"), widget=yes_no_any())

    class Meta:
        model = User
        fields = ["q", "role", "is_active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(full_name__icontains=value)
            | Q(employee_no__icontains=value)
        )

    def filter_role(self, queryset, name, value):
        return queryset.filter(groups__name=value) if value else queryset
