from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tvshop.accounts.services import user_set_language


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
