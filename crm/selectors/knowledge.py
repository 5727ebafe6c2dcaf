"""Reading scripts and FAQ: lists, the script for a call, and FAQ search for Chinese.

FAQ search (``faq_search``) finds entries whose question, keywords or answer contain every
fragment of the query (fragments are the query's runs of letters/digits, lower-cased) and
ranks them: entries with a fragment in the question first, then in the keywords, then by
the number of occurrences in all three, then the most recently updated. On PostgreSQL the
candidates come from a GIN index over the entries' character unigrams and bigrams
(``crm.chinese_search``, migration 0004); on SQLite (the embedded default) from a plain
scan. Both return the same entries in the same order.

The ranking runs in one hand-written statement that returns the ids of one page; a second
query loads those rows. Measured (bench/faq_search.py): building the same statement from
ORM expressions cost more Python time than PostgreSQL spent answering it, and sorting
whole rows instead of ids doubled the database time.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Q, QuerySet

from crm.chinese_search import (
    fragment_needs_recheck,
    has_case,
    query_fragments,
    query_terms,
)
from crm.choices import ScriptStage
from crm.models import FAQ, Customer, Script
from crm.services.knowledge import customer_last_product_name
from tvshop.catalog.models import Product

# --- scripts ----------------------------------------------------------------------------


def script_list(
    *,
    product: Product | int | None = None,
    stage: str = "",
    q: str = "",
    active: bool | None = None,
) -> QuerySet[Script]:
    qs = Script.objects.select_related("product", "updated_by")
    if product:
        qs = qs.filter(product=product)
    if stage:
        qs = qs.filter(stage=stage)
    if active is not None:
        qs = qs.filter(active=active)
    for fragment in query_fragments(q):
        qs = qs.filter(Q(title__icontains=fragment) | Q(body__icontains=fragment))
    return qs


def customer_is_returning(customer: Customer) -> bool:
    """A customer we know: has a name and has bought before or has service records."""
    if customer.pk is None or not customer.name:
        return False
    if customer_last_product_name(customer):
        return True
    return customer.service_records.exists()


def script_for_call(*, customer: Customer | None, product: Product | None = None) -> Script | None:
    """The script to open a call with: the returning-customer greeting for a returning
    customer, else the opening script (the product's own before the general one)."""
    stages = [ScriptStage.OPENING]
    if customer is not None and customer_is_returning(customer):
        stages.insert(0, ScriptStage.GREETING_RETURNING)
    for stage in stages:
        qs = Script.objects.select_related("product").filter(active=True, stage=stage)
        qs = (
            qs.filter(Q(product=product) | Q(product__isnull=True))
            if product
            else qs.filter(product__isnull=True)
        )
        script = qs.order_by(F("product").asc(nulls_last=True), "id").first()
        if script is not None:
            return script
    return None


# --- FAQ --------------------------------------------------------------------------------


def _product_id(product: Product | int | None) -> int | None:
    if product is None or product == "":
        return None
    return product.pk if isinstance(product, Product) else int(product)


_ALL_TEXT = "question || ' ' || keywords || ' ' || answer"


class FAQSearchResults:
    """The entries matching a query, best first; sliceable and countable like a queryset,
    so Django's and DRF's paginators page through it (one statement per page)."""

    model = FAQ
    ordered = True

    def __init__(
        self,
        query: str,
        *,
        product: Product | int | None = None,
        category: str | None = None,
        use_index: bool | None = None,
    ):
        self.query = query
        self.fragments = query_fragments(query)
        self.product_id = _product_id(product)
        self.category = category or None
        self.vendor = connection.vendor
        self.use_index = self.vendor == "postgresql" if use_index is None else use_index
        self._count: int | None = None

    # -- SQL --
    # One statement: the candidates (from the index on PostgreSQL) with their texts
    # computed once — question, keywords, and all three joined by spaces (fragments never
    # contain a space, so a match never spans two texts), lower-cased only when the query
    # has letters (Chinese has no case) — then the re-check and the ranking over them.

    def _candidates(self) -> tuple[str, list]:
        cased = any(has_case(f) for f in self.fragments)

        def text(expression: str) -> str:
            return f"lower({expression})" if cased else expression

        conditions, params = [], []
        if self.use_index:
            conditions.append("string_to_array(search_terms, ' ') @> %s::text[]")
            params.append(query_terms(self.fragments))
        if self.product_id is not None:
            conditions.append("product_id = %s")
            params.append(self.product_id)
        if self.category is not None:
            conditions.append("category = %s")
            params.append(self.category)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        # OFFSET 0 keeps PostgreSQL from inlining the subquery (and so from computing the
        # texts once per use instead of once per row).
        fence = "OFFSET 0" if self.vendor == "postgresql" else ""
        columns = f"id, updated_at, {text('question')} AS q, {text('keywords')} AS k"
        columns += f", {text(_ALL_TEXT)} AS t"
        sql = f"SELECT {columns} FROM {FAQ._meta.db_table} {where} {fence}"  # noqa: S608
        return sql, params

    def _position(self, column: str) -> str:
        function = "strpos" if self.vendor == "postgresql" else "instr"
        return f"{function}({column}, %s)"

    def _length(self, expression: str) -> str:
        # octet_length is O(1) on PostgreSQL; counts stay exact (UTF-8 matches whole chars).
        function = "octet_length" if self.vendor == "postgresql" else "length"
        return f"{function}({expression})"

    def _recheck(self) -> tuple[str, list]:
        # The index proves fragments of up to two characters; longer ones are re-checked.
        recheck = [f for f in self.fragments if not self.use_index or fragment_needs_recheck(f)]
        conditions = [f"{self._position('t')} > 0" for _ in recheck]
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), recheck

    def _order(self) -> tuple[str, list]:
        keys, params = [], []
        for column in ("q", "k"):
            hit = f"CASE WHEN {self._position(column)} > 0 THEN 1 ELSE 0 END"
            keys.append(f"({' + '.join([hit] * len(self.fragments))}) DESC")
            params += self.fragments
        count = f"({self._length('t')} - {self._length('replace(t, %s, %s)')})"
        count += f" / {self._length('%s')}"
        keys.append(f"({' + '.join([count] * len(self.fragments))}) DESC")
        for fragment in self.fragments:
            params += [fragment, "", fragment]
        keys += ["updated_at DESC", "id DESC"]
        return ", ".join(keys), params

    def ids_sql(self, *, limit: int, offset: int = 0) -> tuple[str, list]:
        """The statement returning the ids of one page, best first."""
        candidates, candidate_params = self._candidates()
        recheck, recheck_params = self._recheck()
        order, order_params = self._order()
        # Only fixed SQL is formatted in; every value is a parameter.
        sql = f"SELECT id FROM ({candidates}) AS s {recheck} ORDER BY {order} LIMIT %s OFFSET %s"  # noqa: S608
        return sql, [*candidate_params, *recheck_params, *order_params, limit, offset]

    # -- queryset-like --

    def count(self) -> int:
        if self._count is None:
            if not self.fragments:
                self._count = 0
            else:
                candidates, params = self._candidates()
                recheck, recheck_params = self._recheck()
                with connection.cursor() as cursor:
                    sql = f"SELECT count(*) FROM ({candidates}) AS s {recheck}"  # noqa: S608
                    cursor.execute(sql, [*params, *recheck_params])
                    self._count = cursor.fetchone()[0]
        return self._count

    def __len__(self) -> int:
        return self.count()

    def page(self, *, offset: int, limit: int) -> list[FAQ]:
        if not self.fragments or limit <= 0:
            return []
        sql, params = self.ids_sql(limit=limit, offset=offset)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            return []
        rows = FAQ.objects.select_related("product").defer("search_terms").in_bulk(ids)
        return [rows[i] for i in ids if i in rows]

    def __getitem__(self, key):
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise ValueError("steps are not supported")
            start = key.start or 0
            stop = self.count() if key.stop is None else key.stop
            return self.page(offset=start, limit=max(0, stop - start))
        found = self.page(offset=key, limit=1)
        if not found:
            raise IndexError(key)
        return found[0]

    def __iter__(self):
        return iter(self[:])


def faq_search_results(
    query: str,
    *,
    product: Product | int | None = None,
    category: str | None = None,
    use_index: bool | None = None,
) -> FAQSearchResults:
    """Every entry matching ``query``, best first (see the module docstring); page it by
    slicing. An empty query (only spaces and punctuation) matches nothing. ``use_index``
    defaults to "on PostgreSQL"; ``False`` gives the plain scan SQLite uses."""
    return FAQSearchResults(query, product=product, category=category, use_index=use_index)


def faq_search(
    query: str,
    *,
    product: Product | int | None = None,
    category: str | None = None,
    limit: int = 20,
) -> list[FAQ]:
    """The ``limit`` best entries for ``query``."""
    return faq_search_results(query, product=product, category=category)[:limit]


def faq_list(
    *, q: str = "", product: Product | int | None = None, category: str | None = None
) -> QuerySet[FAQ] | FAQSearchResults:
    """The FAQ page: search results when ``q`` has text, else newest first."""
    if query_fragments(q):
        return faq_search_results(q, product=product, category=category)
    qs = FAQ.objects.select_related("product").defer("search_terms")
    if product:
        qs = qs.filter(product=product)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("-updated_at", "-id")


def faq_categories() -> list[str]:
    return list(
        FAQ.objects.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )
