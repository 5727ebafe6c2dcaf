"""Writes on users, roles and the phone-masking choice; each one audited."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tvshop.accounts.models import User
from tvshop.accounts.roles import FULL_PHONE_PERMISSION, Role, role_label
from tvshop.audit.crud import validation_error_to_domain
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError

USER_AUDIT_FIELDS = ["username", "full_name", "employee_no", "language", "is_active", "is_staff"]


def user_set_language(*, user, language: str) -> None:
    codes = {code for code, _name in settings.LANGUAGES}
    if language not in codes:
        raise ValueError(_("Unknown language: %(code)s") % {"code": language})
    if user.language == language:
        return
    with transaction.atomic():
        before = {"language": user.language}
        user.language = language
        user.save(update_fields=["language"])
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            obj=user,
            before=before,
            after={"language": language},
        )


# --- reads -------------------------------------------------------------------------------
def role_groups():
    """The role groups in the order of ``Role`` (other groups are not roles)."""
    by_name = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    return [by_name[r.value] for r in Role if r.value in by_name]


def _full_phone_permission() -> Permission:
    app_label, codename = FULL_PHONE_PERMISSION.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def full_phone_roles() -> list[str]:
    """Codes of the roles whose members see full phone numbers."""
    perm = _full_phone_permission()
    names = set(perm.group_set.values_list("name", flat=True))
    return [r.value for r in Role if r.value in names]


# --- phone masking -----------------------------------------------------------------------
def masking_set(*, actor, roles: list[str]) -> list[str]:
    """Grant ``crm.view_full_phone`` to exactly these roles (all other roles see masked
    numbers). Returns the roles that see full numbers afterwards. Audited ("permission")."""
    valid = {r.value for r in Role}
    unknown = sorted(set(roles) - valid)
    if unknown:
        raise DomainError(
            _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)},
            fields={"roles": [_("Choose roles from the list.")]},
        )
    wanted = [r.value for r in Role if r.value in set(roles)]
    with transaction.atomic():
        perm = Permission.objects.select_for_update().get(pk=_full_phone_permission().pk)
        holders = set(perm.group_set.values_list("name", flat=True))
        before = [r.value for r in Role if r.value in holders]
        if before == wanted:
            return wanted
        groups = {g.name: g for g in Group.objects.filter(name__in=valid)}
        for code in valid:
            group = groups.get(code)
            if group is None:
                continue
            if code in wanted:
                group.permissions.add(perm)
            else:
                group.permissions.remove(perm)
        audit_record(
            actor=actor,
            action=AuditAction.PERMISSION,
            obj=perm,
            before={"full_phone_roles": before},
            after={"full_phone_roles": wanted},
            note=_("Roles that see full phone numbers: %(roles)s")
            % {"roles": ", ".join(role_label(c) for c in wanted) or "-"},
        )
    return wanted


# --- users -------------------------------------------------------------------------------
def user_snapshot(user: User) -> dict:
    data = snapshot(user, fields=USER_AUDIT_FIELDS)
    data["roles"] = sorted(
        user.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True)
    )
    return data


def _check_roles(roles: list[str]) -> list[Group]:
    valid = {r.value for r in Role}
    unknown = sorted(set(roles) - valid)
    if unknown:
        raise DomainError(
            _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)},
            fields={"roles": [_("Choose roles from the list.")]},
        )
    return list(Group.objects.filter(name__in=roles))


def _check_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], fields={"password": exc.messages}) from exc


def _save_user(user: User) -> None:
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise validation_error_to_domain(exc) from exc
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict(
            _("A user with this user name already exists."),
            fields={"username": [_("A user with this user name already exists.")]},
        ) from exc


def _set_roles(user: User, groups: list[Group]) -> None:
    """Replace the user's role groups (other groups stay); administrators get the Django
    admin (is_staff) for the base data, other roles do not."""
    role_names = [r.value for r in Role]
    user.groups.remove(*user.groups.filter(name__in=role_names))
    user.groups.add(*groups)


def user_create(
    *,
    actor,
    username: str,
    password: str,
    roles: list[str],
    full_name: str = "",
    employee_no: str = "",
    language: str = settings.LANGUAGE_CODE,
    is_active: bool = True,
) -> User:
    groups = _check_roles(roles)
    user = User(
        username=username,
        full_name=full_name,
        employee_no=employee_no,
        language=language,
        is_active=is_active,
        is_staff=Role.ADMINISTRATOR.value in roles,
    )
    _check_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        _save_user(user)
        _set_roles(user, groups)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=user, after=user_snapshot(user))
    return user


def user_update(
    *,
    actor,
    user: User,
    username: str,
    roles: list[str],
    full_name: str = "",
    employee_no: str = "",
    language: str = settings.LANGUAGE_CODE,
    is_active: bool = True,
    password: str | None = None,
) -> User:
    """Change a user's data and roles; ``password`` (when given) replaces the password.

    Administrators cannot lock themselves out: their own account stays active and keeps
    the administrator role."""
    groups = _check_roles(roles)
    if actor is not None and actor.pk == user.pk:
        if not is_active:
            raise DomainError(
                _("You cannot deactivate your own account."),
                fields={"is_active": [_("You cannot deactivate your own account.")]},
            )
        if user.groups.filter(name=Role.ADMINISTRATOR).exists() and (
            Role.ADMINISTRATOR.value not in roles
        ):
            raise DomainError(
                _("You cannot remove the administrator role from yourself."),
                fields={"roles": [_("You cannot remove the administrator role from yourself.")]},
            )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = user_snapshot(user)
        user.username = username
        user.full_name = full_name
        user.employee_no = employee_no
        user.language = language
        user.is_active = is_active
        user.is_staff = Role.ADMINISTRATOR.value in roles or user.is_superuser
        note = ""
        if password:
            _check_password(password, user)
            user.set_password(password)
            note = _("Password changed.")
        _save_user(user)
        _set_roles(user, groups)
        after = user_snapshot(user)
        if before != after or note:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=user,
                before=before,
                after=after,
                note=note,
            )
    return user
