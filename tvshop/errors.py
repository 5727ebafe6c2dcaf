"""Domain errors: one contract for pages and the API.

Services raise these; the API exception handler turns them into
``{"code", "message", "fields"}`` JSON with a 4xx status, and page views turn them into
form errors (``DomainError.add_to_form``).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message, *, fields: dict[str, list[str]] | None = None, code=None):
        super().__init__(str(message))
        self.message = str(message)
        self.fields = {k: [str(m) for m in v] for k, v in (fields or {}).items()}
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}

    def add_to_form(self, form) -> None:
        """Attach the error to a Django form (field errors where the field exists)."""
        if not self.fields:
            form.add_error(None, self.message)
            return
        for name, messages in self.fields.items():
            target = name if name in form.fields else None
            for message in messages:
                form.add_error(target, message)


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The action lost a race or would break an invariant (e.g. already reviewed)."""

    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
