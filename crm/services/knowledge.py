"""Scripts (话术) and FAQ: saving them (audited) and rendering scripts for a customer.

Placeholders
------------
A script's body may contain placeholders in single braces, e.g.
``{name}{salutation}您好，上次您买的{last_product}用得还好吗？`` — agents type them in the
English input mode. ``{{`` and ``}}`` write a literal brace. The known placeholders are
:data:`PLACEHOLDERS`; ``script_save`` refuses a body with an unknown placeholder or a
stray brace, so an agent never reads ``{nmae}`` to a caller.

The last product a customer bought comes from the orders app, which does not exist yet:
:func:`customer_last_product_name` asks a provider that the orders app installs from its
``AppConfig.ready()`` with :func:`last_product_provider_set`; until then it is ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from crm.chinese_search import text_terms
from crm.choices import Salutation, ScriptStage
from crm.models import FAQ, Customer, Script
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.catalog.models import Product
from tvshop.errors import DomainError

# name -> what it becomes (shown on the edit page)
PLACEHOLDERS: dict[str, str] = {
    "name": gettext_lazy("the customer's name, e.g. 王小明"),
    "surname": gettext_lazy("the customer's surname, e.g. 王 (欧阳 for 欧阳娜娜)"),
    "salutation": gettext_lazy("先生 or 女士 from the customer's salutation (empty if not set)"),
    "last_product": gettext_lazy("the product the customer bought last (empty if none)"),
    "agent_name": gettext_lazy("your name as the agent"),
    "product": gettext_lazy("the script's product (or the product of the call)"),
}

# {{ and }} are literal braces; {anything-without-braces} is a placeholder; a brace left
# over is an error.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")

_COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 独孤 南宫 "
    "西门 呼延 轩辕 钟离 闻人 万俟 澹台 公羊 太叔 申屠 濮阳 淳于 单于"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES.split(" "))

TITLE_MAX = 120
QUESTION_MAX = 300
CATEGORY_MAX = 50
KEYWORDS_MAX = 300
BODY_MAX = 4000
ANSWER_MAX = 8000

SCRIPT_FIELDS = ["title", "product", "stage", "body", "active"]
FAQ_FIELDS = ["question", "answer", "product", "category", "keywords"]
# Audit snapshots leave out the derived search terms (hundreds of tokens per entry).
FAQ_AUDIT_FIELDS = ["id", *FAQ_FIELDS, "updated_at", "updated_by"]


# --- placeholders ----------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A piece of a script body: literal text, or a placeholder name."""

    text: str
    is_placeholder: bool = False


def script_parse(body: str) -> tuple[list[Segment], list[str]]:
    """Split ``body`` into segments; the second value lists the problems (translated)."""
    segments: list[Segment] = []
    errors: list[str] = []
    position = 0
    for match in _TOKEN.finditer(body):
        if match.start() > position:
            segments.append(Segment(body[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            segments.append(Segment(token[0]))
        elif token in ("{", "}"):
            segments.append(Segment(token))
            errors.append(
                _(
                    "The brace at character %(pos)d is not part of a placeholder. Write "
                    "placeholders as {name}; write {{ or }} for a literal brace."
                )
                % {"pos": match.start() + 1}
            )
        else:
            name = match.group(1).strip()
            if name not in PLACEHOLDERS:
                errors.append(
                    _("Unknown placeholder {%(name)s}. Known placeholders: %(known)s.")
                    % {"name": name, "known": ", ".join(f"{{{k}}}" for k in PLACEHOLDERS)}
                )
            segments.append(Segment(name, is_placeholder=True))
        position = match.end()
    if position < len(body):
        segments.append(Segment(body[position:]))
    return segments, errors


# --- the last product (filled by the orders app) ----------------------------------------

LastProductProvider = Callable[[Customer], str]
_last_product_provider: LastProductProvider | None = None


def last_product_provider_set(provider: LastProductProvider | None) -> None:
    """Install the function that names the last product a customer bought.

    The orders app calls this from its ``AppConfig.ready()``; ``None`` removes it.
    """
    global _last_product_provider
    _last_product_provider = provider


def customer_last_product_name(customer: Customer) -> str:
    """The name of the product ``customer`` bought last, or ``""`` (no orders app yet)."""
    if _last_product_provider is None or customer.pk is None:
        return ""
    return _last_product_provider(customer) or ""


# --- rendering --------------------------------------------------------------------------


def customer_surname(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    if not name.isascii():
        return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    return name.split()[-1] if " " in name else name


def salutation_word(salutation: str) -> str:
    if salutation == Salutation.MR:
        return pgettext("salutation after a name", "Mr.")
    if salutation == Salutation.MS:
        return pgettext("salutation after a name", "Ms.")
    return ""


def script_context(
    customer: Customer | None, *, agent=None, product: Product | None = None
) -> dict[str, str]:
    """The plain-text value of every placeholder for ``customer`` (not escaped)."""
    name = customer.name if customer is not None else ""
    return {
        "name": name,
        "surname": customer_surname(name),
        "salutation": salutation_word(customer.salutation) if customer is not None else "",
        "last_product": customer_last_product_name(customer) if customer is not None else "",
        "agent_name": getattr(agent, "display_name", "") if agent is not None else "",
        "product": product.name if product is not None else "",
    }


def script_render_text(
    *, script: Script, customer: Customer | None, agent=None, product: Product | None = None
) -> str:
    """The script as plain text for ``customer`` (for the API and plain-text use)."""
    values = script_context(customer, agent=agent, product=product or script.product)
    segments, _errors = script_parse(script.body)
    # A body that bypassed script_save may hold unknown placeholders: shown as typed.
    return "".join(
        values.get(s.text, f"{{{s.text}}}") if s.is_placeholder else s.text for s in segments
    )


def script_render(
    *, script: Script, customer: Customer | None, agent=None, product: Product | None = None
) -> SafeString:
    """The script as HTML for ``customer``: text and values escaped, line breaks kept.

    A placeholder that was valid when saved but has no value (e.g. no salutation) renders
    as nothing. ``product`` (e.g. the product of the hotline called) overrides the
    script's own product for ``{product}``.
    """
    text = script_render_text(script=script, customer=customer, agent=agent, product=product)
    return mark_safe(escape(text).replace("\r\n", "\n").replace("\n", "<br>"))


# --- scripts ----------------------------------------------------------------------------


def _script_errors(*, title: str, stage: str, body: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the script a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("At most %(n)d characters.") % {"n": TITLE_MAX}]
    if stage not in ScriptStage.values:
        errors["stage"] = [_("Choose a valid stage.")]
    if not body.strip():
        errors["body"] = [_("Write the text of the script.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    else:
        _segments, problems = script_parse(body)
        if problems:
            errors["body"] = problems
    return errors


def script_save(
    *,
    actor,
    title: str,
    stage: str,
    body: str,
    product: Product | None = None,
    active: bool = True,
    script: Script | None = None,
) -> Script:
    """Create a script (``script=None``) or change ``script``; audited.

    Refuses (DomainError with ``fields``, nothing saved) an empty title or body, an
    unknown stage, and a body with an unknown placeholder or a stray brace.
    """
    title = (title or "").strip()
    body = (body or "").strip()
    errors = _script_errors(title=title, stage=stage, body=body)
    if errors:
        raise DomainError(next(iter(errors.values()))[0], fields=errors)
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        if script is None:
            script = Script.objects.create(
                title=title,
                product=product,
                stage=stage,
                body=body,
                active=active,
                updated_by=user,
            )
            audit_record(actor=actor, action=AuditAction.CREATE, obj=script, after=snapshot(script))
            return script
        script = Script.objects.select_for_update().get(pk=script.pk)
        before = snapshot(script)
        script.title, script.product, script.stage = title, product, stage
        script.body, script.active, script.updated_by = body, active, user
        script.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=script,
            before=before,
            after=snapshot(script),
        )
    return script


# --- FAQ --------------------------------------------------------------------------------

_KEYWORD_SPLIT = re.compile(r"[\s,，、;；|/]+")


def faq_keywords_normalize(keywords: str) -> str:
    """Keywords as one comma-separated list without repeats, e.g. ``退货,运费``."""
    seen: list[str] = []
    for word in _KEYWORD_SPLIT.split(keywords or ""):
        if word and word not in seen:
            seen.append(word)
    return ",".join(seen)


def faq_search_terms(*, question: str, answer: str, keywords: str) -> str:
    """The value of ``FAQ.search_terms`` for these texts (for bulk loaders too)."""
    return text_terms(question, keywords, answer)


def faq_save(
    *,
    actor,
    question: str,
    answer: str,
    product: Product | None = None,
    category: str = "",
    keywords: str = "",
    faq: FAQ | None = None,
) -> FAQ:
    """Create an FAQ entry (``faq=None``) or change ``faq``; keeps its search terms; audited.

    Refuses (DomainError with ``fields``, nothing saved) an empty question or answer and
    over-long fields.
    """
    question = (question or "").strip()
    answer = (answer or "").strip()
    category = (category or "").strip()
    keywords = faq_keywords_normalize(keywords)
    errors: dict[str, list[str]] = {}
    if not question:
        errors["question"] = [_("Write the question.")]
    elif len(question) > QUESTION_MAX:
        errors["question"] = [_("At most %(n)d characters.") % {"n": QUESTION_MAX}]
    if not answer:
        errors["answer"] = [_("Write the answer.")]
    elif len(answer) > ANSWER_MAX:
        errors["answer"] = [_("At most %(n)d characters.") % {"n": ANSWER_MAX}]
    if len(category) > CATEGORY_MAX:
        errors["category"] = [_("At most %(n)d characters.") % {"n": CATEGORY_MAX}]
    if len(keywords) > KEYWORDS_MAX:
        errors["keywords"] = [_("At most %(n)d characters.") % {"n": KEYWORDS_MAX}]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], fields=errors)
    user = actor if actor is not None and actor.is_authenticated else None
    terms = faq_search_terms(question=question, answer=answer, keywords=keywords)
    with transaction.atomic():
        if faq is None:
            faq = FAQ.objects.create(
                question=question,
                answer=answer,
                product=product,
                category=category,
                keywords=keywords,
                search_terms=terms,
                updated_by=user,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=faq,
                after=snapshot(faq, fields=FAQ_AUDIT_FIELDS),
            )
            return faq
        faq = FAQ.objects.select_for_update().get(pk=faq.pk)
        before = snapshot(faq, fields=FAQ_AUDIT_FIELDS)
        faq.question, faq.answer, faq.product = question, answer, product
        faq.category, faq.keywords, faq.search_terms = category, keywords, terms
        faq.updated_by = user
        faq.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=faq,
            before=before,
            after=snapshot(faq, fields=FAQ_AUDIT_FIELDS),
        )
    return faq


def faq_delete(*, actor, faq: FAQ) -> None:
    """Delete an FAQ entry; the audit entry keeps what it said."""
    with transaction.atomic():
        faq = FAQ.objects.select_for_update().get(pk=faq.pk)
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=faq,
            before=snapshot(faq, fields=FAQ_AUDIT_FIELDS),
        )
        faq.delete()


def faq_reindex(*, batch_size: int = 1000) -> int:
    """Recompute every entry's search terms (after a bulk load that skipped them).

    A maintenance step, not a business change: nothing user-visible changes, so no audit.
    """
    changed = 0
    batch: list[FAQ] = []
    with transaction.atomic():
        for faq in FAQ.objects.order_by("pk").iterator(chunk_size=batch_size):
            terms = faq_search_terms(
                question=faq.question, answer=faq.answer, keywords=faq.keywords
            )
            if terms != faq.search_terms:
                faq.search_terms = terms
                batch.append(faq)
            if len(batch) >= batch_size:
                FAQ.objects.bulk_update(batch, ["search_terms"])
                changed += len(batch)
                batch = []
        if batch:
            FAQ.objects.bulk_update(batch, ["search_terms"])
            changed += len(batch)
    return changed
