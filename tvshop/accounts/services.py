from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record


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
