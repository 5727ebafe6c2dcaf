"""Phone-number masking per role: the one function pages, API and exports call.

Users whose roles hold ``crm.view_full_phone`` (administrators choose which roles, on the
masking page) see full numbers; everyone else sees the first digits and the last four
(138****8000, 0755-****1234, 400-***1234). A masked user with ``crm.reveal_phone`` may
reveal one number at a time; each reveal is audited (``crm.services.customers.phone_reveal``).
"""

from __future__ import annotations

from crm.phones import _cn_parts, phone_display

FULL_PHONE_PERM = "crm.view_full_phone"
REVEAL_PHONE_PERM = "crm.reveal_phone"


def _stars(text: str, keep: int = 4) -> str:
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def phone_mask(number: str) -> str:
    """The masked display form of a stored (E.164) number."""
    if not number:
        return ""
    parts = _cn_parts(number)
    if parts is not None:
        prefix, rest = parts
        if prefix.startswith("1"):
            return prefix + _stars(rest)
        return f"{prefix}-{_stars(rest)}"
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.startswith("+") and len(digits) > 7:
        # Foreign: keep the country code's first digits and the last four.
        return "+" + digits[:3] + _stars(digits[3:])
    return _stars(digits)


def can_see_full_phone(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(FULL_PHONE_PERM))


def phone_for_user(number: str, user) -> str:
    """The number as ``user`` may see it: full (display form) or masked."""
    if not number:
        return ""
    return phone_display(number) if can_see_full_phone(user) else phone_mask(number)
