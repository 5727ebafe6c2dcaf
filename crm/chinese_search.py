"""Substring search for Chinese (and mixed) text with an ordinary inverted index.

Chinese has no spaces between words, so word-based full-text search (``to_tsvector``)
does not apply, and pg_trgm cannot serve two-character queries (see docs/decisions.md,
"FAQ search"). Instead each searchable text is cut into *runs* of letters and digits
(punctuation and spaces separate runs), lower-cased, and every run contributes

* its single characters (so one-character queries are served), and
* its character bigrams (two adjacent characters of the same run).

A query is cut the same way into fragments. A text contains a fragment of one or two
characters exactly when the fragment is one of the text's terms; a longer fragment
requires all its bigrams, which is necessary but not sufficient, so longer fragments are
re-checked against the text itself (``fragment_needs_recheck``).

The terms are stored space-separated in a text column kept by the service that writes
the row (e.g. ``crm.services.knowledge.faq_save``); PostgreSQL indexes
``string_to_array(column, ' ')`` with GIN and answers ``@>`` (contains all) from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Letters and digits of any script; "_" counts as a separator.
_RUN = re.compile(r"[^\W_]+")

# A query is cut into at most this many fragments of at most this many characters: a
# pasted paragraph must not turn into a thousand-term index query.
MAX_FRAGMENTS = 8
MAX_FRAGMENT_LENGTH = 32


def runs(text: str) -> list[str]:
    """The lower-cased runs of letters/digits in ``text``, in order."""
    return _RUN.findall((text or "").lower())


def terms_of_run(run: str) -> set[str]:
    out = set(run)
    out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def text_terms(*texts: str) -> str:
    """The index terms of several texts (runs never cross texts), space-separated, sorted."""
    terms: set[str] = set()
    for text in texts:
        for run in runs(text):
            terms |= terms_of_run(run)
    return " ".join(sorted(terms))


def query_fragments(query: str) -> list[str]:
    """The distinct fragments of a query, in order, capped (see MAX_*)."""
    seen: list[str] = []
    for run in runs(query):
        fragment = run[:MAX_FRAGMENT_LENGTH]
        if fragment not in seen:
            seen.append(fragment)
        if len(seen) == MAX_FRAGMENTS:
            break
    return seen


def fragment_terms(fragment: str) -> list[str]:
    """The terms a text must have to contain ``fragment`` (its bigrams, or itself)."""
    if len(fragment) <= 2:
        return [fragment]
    return sorted({fragment[i : i + 2] for i in range(len(fragment) - 1)})


def query_terms(fragments: Iterable[str]) -> list[str]:
    terms: set[str] = set()
    for fragment in fragments:
        terms.update(fragment_terms(fragment))
    return sorted(terms)


def fragment_needs_recheck(fragment: str) -> bool:
    """True when the index terms of ``fragment`` do not prove that a text contains it."""
    return len(fragment) > 2


def has_case(text: str) -> bool:
    """True when lower-casing could change ``text`` (Chinese and digits have no case)."""
    return text.upper() != text.lower()


# --- showing matches ---------------------------------------------------------------------


def _spans(text: str, fragments: Iterable[str]) -> list[tuple[int, int]]:
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lower case is longer: no marks
        return []
    spans = []
    for fragment in fragments:
        start = lowered.find(fragment)
        while fragment and start != -1:
            spans.append((start, start + len(fragment)))
            start = lowered.find(fragment, start + len(fragment))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, fragments: Iterable[str]) -> SafeString:
    """``text`` as HTML (escaped) with each fragment wrapped in ``<mark>``."""
    text = text or ""
    out, position = [], 0
    for start, end in _spans(text, list(fragments)):
        out.append(escape(text[position:start]))
        out.append(format_html("<mark>{}</mark>", text[start:end]))
        position = end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))


def snippet(text: str, fragments: Iterable[str], *, width: int = 80) -> SafeString:
    """About ``width`` characters of ``text`` around the first match, highlighted."""
    text = " ".join((text or "").split())
    fragments = list(fragments)
    spans = _spans(text, fragments)
    start = max(0, spans[0][0] - width // 4) if spans else 0
    part = text[start : start + width]
    html = highlight(part, fragments)
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return mark_safe(prefix + html + suffix)
