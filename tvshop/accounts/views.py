from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Prefetch
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from tvshop.accounts import services
from tvshop.accounts.forms import MaskingForm, UserFilter, UserForm
from tvshop.accounts.models import User
from tvshop.accounts.roles import Role, role_label
from tvshop.accounts.services import user_set_language
from tvshop.audit.pages import ListPage, ServiceFormPage
from tvshop.errors import DomainError


@login_required
@require_POST
def language_set(request):
    """Save the user's interface language (per user, not per browser)."""
    code = request.POST.get("language", "")
    try:
        user_set_language(user=request.user, language=code)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    translation.activate(code)
    target = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


class MaskingView(PermissionRequiredMixin, FormView):
    """Administrators choose which roles see full phone numbers."""

    permission_required = "accounts.manage_masking"
    form_class = MaskingForm
    template_name = "accounts/masking.html"

    def get_initial(self):
        return {"roles": services.full_phone_roles()}

    def form_valid(self, form):
        try:
            services.masking_set(actor=self.request.user, roles=form.cleaned_data["roles"])
        except DomainError as exc:
            exc.add_to_form(form)
            return self.form_invalid(form)
        messages.success(self.request, _("The phone masking was saved."))
        return redirect("accounts:masking")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class UserListView(ListPage):
    permission_required = "accounts.view_user"
    filterset_class = UserFilter
    template_name = "accounts/user_list.html"
    results_template_name = "accounts/_user_results.html"

    def base_queryset(self):
        from django.contrib.auth.models import Group

        roles = Group.objects.filter(name__in=[r.value for r in Role]).order_by("name")
        return User.objects.prefetch_related(
            Prefetch("groups", queryset=roles, to_attr="role_groups")
        ).order_by("username")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for user in context["object_list"]:
            user.role_labels = [role_label(g.name) for g in user.role_groups]
        return context


class UserFormView(ServiceFormPage):
    model = User
    form_class = UserForm
    template_name = "accounts/user_form.html"
    cancel_url_name = "accounts:user_list"

    def get_permission_required(self):
        return ["accounts.change_user" if "pk" in self.kwargs else "accounts.add_user"]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["creating"] = self.object is None
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        user = self.object
        if user is not None:
            initial.update(
                username=user.username,
                full_name=user.full_name,
                employee_no=user.employee_no,
                language=user.language,
                is_active=user.is_active,
                roles=list(
                    user.groups.filter(name__in=[r.value for r in Role]).values_list(
                        "name", flat=True
                    )
                ),
            )
        return initial

    def save(self, form):
        data = {
            k: form.cleaned_data[k]
            for k in ("username", "full_name", "employee_no", "language", "roles", "is_active")
        }
        password = form.cleaned_data.get("password") or None
        if self.object is None:
            return services.user_create(actor=self.request.user, password=password, **data)
        return services.user_update(
            actor=self.request.user, user=self.object, password=password, **data
        )
