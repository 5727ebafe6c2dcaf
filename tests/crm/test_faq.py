"""FAQ: Chinese search (exact matches, ranking, the index), pages, API, role refusals."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from crm.chinese_search import query_fragments, text_terms
from crm.models import FAQ
from crm.selectors.knowledge import faq_search, faq_search_results
from crm.services.knowledge import faq_delete, faq_reindex, faq_save
from tests.crm.factories_knowledge import FAQFactory
from tests.factories import ProductFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the GIN index exists on PostgreSQL only"
)


def _entries():
    """Audit entries about faqs (making users and roles writes entries of its own)."""
    return AuditEntry.objects.filter(content_type__app_label="crm", content_type__model="faq")


def _questions(results) -> list[str]:
    return [f.question for f in results]


@pytest.fixture
def corpus():
    """Entries with 退货 in different places, and near misses that must not match."""
    return {
        "q": FAQFactory(question="怎么退货？", answer="请拨打热线登记。"),
        "q2": FAQFactory(
            question="退货退款多久到账？退货要运费吗", answer="三个工作日，退货运费自理。"
        ),
        "kw": FAQFactory(
            question="七天无理由", answer="签收七天内可以申请。", keywords="退货,无理由"
        ),
        "a1": FAQFactory(question="破损怎么办？", answer="可以拒收或退货。"),
        "a3": FAQFactory(question="质量问题", answer="退货、退货、退货都可以。"),
        "split": FAQFactory(question="退款和发货", answer="先退款，后发货。"),
        "space": FAQFactory(question="退 货", answer="退\n货"),
        "other": FAQFactory(question="发货时间", answer="当天发货。"),
    }


# --- the tokenizer ------------------------------------------------------------------------


def test_terms_are_single_characters_and_bigrams_of_runs():
    terms = set(text_terms("退货,TCL电视", "运费").split(" "))
    assert {"退", "货", "退货", "tc", "cl", "l电", "电视", "运费"} <= terms
    assert "货t" not in terms  # the comma separates runs
    assert "视运" not in terms  # separate texts never form a bigram


def test_query_fragments_split_on_spaces_and_punctuation():
    assert query_fragments(" 退货，TCL  电视!! ") == ["退货", "tcl", "电视"]
    assert query_fragments("，。 ") == []


# --- search -------------------------------------------------------------------------------


def test_two_character_query_finds_every_entry_containing_it_and_nothing_else(corpus):
    results = faq_search("退货", limit=100)

    expected = {corpus[k].pk for k in ("q", "q2", "kw", "a1", "a3")}
    assert {f.pk for f in results} == expected
    containing = {f.pk for f in FAQ.objects.all() if "退货" in f.question + f.keywords + f.answer}
    assert containing == expected


def test_question_hits_come_first_then_keywords_then_most_occurrences(corpus):
    results = faq_search("退货", limit=100)

    order = [r.pk for r in results]
    assert order == [corpus[k].pk for k in ("q2", "q", "kw", "a3", "a1")]


def test_four_character_query_needs_the_characters_together():
    together = FAQFactory(question="支持货到付款吗？")
    FAQFactory(question="货到了再付款可以吗", answer="付款方式：货到后付款")
    in_answer = FAQFactory(question="付款方式", answer="全国支持货到付款。")

    results = faq_search("货到付款")

    assert [f.pk for f in results] == [together.pk, in_answer.pk]


def test_ascii_query_is_case_insensitive():
    tcl = FAQFactory(question="TCL电视保修多久？")
    lower = FAQFactory(question="遥控器", answer="tcl遥控器")
    FAQFactory(question="电视", answer="T C L")

    assert {f.pk for f in faq_search("tcl")} == {tcl.pk, lower.pk}
    assert {f.pk for f in faq_search("TcL电视")} == {tcl.pk}


@pytest.mark.parametrize("query", ["", "   ", "，。！", "_"])
def test_empty_query_finds_nothing(corpus, query):
    assert faq_search(query) == []


def test_single_character_query():
    hit = FAQFactory(question="能开发票吗")
    FAQFactory(question="能开收据吗")
    assert [f.pk for f in faq_search("票")] == [hit.pk]


def test_several_words_must_all_appear():
    both = FAQFactory(question="退货运费谁付", answer="")
    FAQFactory(question="退货流程", answer="")
    FAQFactory(question="运费多少", answer="")
    assert [f.pk for f in faq_search("退货 运费")] == [both.pk]


def test_filters_and_limit():
    product = ProductFactory()
    mine = [FAQFactory(question=f"退货{i}", product=product, category="退换货") for i in range(5)]
    FAQFactory(question="退货", category="退换货")
    FAQFactory(question="退货", product=product, category="其他")

    assert len(faq_search("退货", product=product, category="退换货")) == 5
    assert len(faq_search("退货", product=product, category="退换货", limit=2)) == 2
    assert {f.pk for f in faq_search("退货", product=product.pk, category="退换货")} == {
        f.pk for f in mine
    }


def test_fallback_without_the_index_gives_the_same_results(corpus):
    queries = ["退货", "货到付款", "tcl", "退 款", "运费", "货"]
    with_index = {q: [f.pk for f in faq_search(q, limit=100)] for q in queries}

    without_index = {
        q: [f.pk for f in faq_search_results(q, use_index=False)[:100]] for q in queries
    }

    assert with_index == without_index


@postgresql_only
def test_the_search_uses_the_gin_index_on_postgresql():
    FAQ.objects.bulk_create(
        [
            FAQ(
                question=f"问题{i}",
                answer="发货很快" if i % 50 else "退货流程",
                search_terms=text_terms(f"问题{i}", "", "发货很快" if i % 50 else "退货流程"),
            )
            for i in range(2000)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_faq")
        # A test-sized table is cheaper to scan than to look up; forbid the scan.
        cursor.execute("SET LOCAL enable_seqscan = off")

        for query in ["退货", "退货流程", "发货", "tcl"]:
            sql, params = faq_search_results(query).ids_sql(limit=20)
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
            assert "Bitmap Index Scan on crm_faq_search_terms_gin" in plan, plan


def test_two_queries_per_search_the_ranked_ids_and_their_rows(corpus, django_assert_num_queries):
    with django_assert_num_queries(2):
        results = faq_search("退货")
        [f.product for f in results]


# --- saving -------------------------------------------------------------------------------


def test_save_keeps_the_search_terms_current(make_user):
    supervisor = make_user("supervisor")
    faq = faq_save(actor=supervisor, question="可以退货吗", answer="可以。", keywords="退货 七天")

    assert faq.keywords == "退货,七天"
    assert [f.pk for f in faq_search("退货")] == [faq.pk]

    faq_save(actor=supervisor, faq=faq, question="可以换货吗", answer="可以。", keywords="")

    assert faq_search("退货") == []
    assert [f.pk for f in faq_search("换货")] == [faq.pk]
    entry = AuditEntry.objects.get(object_id=str(faq.pk), action="update")
    assert entry.before["question"] == "可以退货吗"
    assert entry.after["question"] == "可以换货吗"
    assert "search_terms" not in entry.after


def test_save_refuses_empty_question_and_saves_nothing(make_user):
    with pytest.raises(DomainError) as exc:
        faq_save(actor=make_user("supervisor"), question=" ", answer="")
    assert {"question", "answer"} <= set(exc.value.fields)
    assert not FAQ.objects.exists()
    assert not _entries()


def test_delete_is_audited(make_user):
    faq = FAQFactory(question="要删除的问题")
    faq_delete(actor=make_user("supervisor"), faq=faq)
    assert not FAQ.objects.exists()
    entry = _entries().get(action="delete")
    assert entry.before["question"] == "要删除的问题"


@postgresql_only
def test_reindex_fills_entries_loaded_without_terms():
    FAQ.objects.bulk_create([FAQ(question="退货怎么办", answer="打电话")])
    assert faq_search("退货") == []

    assert faq_reindex() == 1

    assert len(faq_search("退货")) == 1


# --- pages --------------------------------------------------------------------------------


def test_agent_searches_the_faq_page(client_for, corpus, django_assert_max_num_queries):
    for i in range(40):
        FAQFactory(question=f"退货问题{i}", product=ProductFactory())
    c = client_for("agent")

    with django_assert_max_num_queries(12):
        response = c.get(reverse("crm:faq_list"), {"q": "退货"})

    assert response.status_code == 200
    assert response.context["paginator"].count == 45
    assert len(response.context["rows"]) == 25
    page = response.content.decode()
    assert 'name="q"' in page
    assert "<mark>退货</mark>" in page


def test_faq_list_without_query_is_paginated(client_for, django_assert_max_num_queries):
    for _ in range(30):
        FAQFactory(product=ProductFactory())
    c = client_for("agent")
    with django_assert_max_num_queries(12):
        response = c.get(reverse("crm:faq_list"))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 25


def test_htmx_live_search_returns_only_the_results(client_for, corpus):
    response = client_for("agent").get(
        reverse("crm:faq_list"), {"q": "发货"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "<mark>发货</mark>时间" in page and "怎么退货" not in page


def test_quick_search_fragment(client_for, corpus, django_assert_max_num_queries):
    c = client_for("agent")
    with django_assert_max_num_queries(6):
        response = c.get(reverse("crm:faq_quick_search"), {"q": "退货"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "怎么<mark>退货</mark>" in page
    assert "发货时间" not in page


def test_quick_search_escapes_entries(client_for):
    FAQFactory(question="<script>x</script>退货")
    page = client_for("agent").get(reverse("crm:faq_quick_search"), {"q": "退货"}).content
    assert b"<script>x" not in page
    assert b"&lt;script&gt;" in page


def test_detail_page(client_for):
    faq = FAQFactory(question="能开发票吗", answer="可以开电子发票", keywords="发票,电子发票")
    response = client_for("agent").get(reverse("crm:faq_detail", args=[faq.pk]))
    assert response.status_code == 200
    assert "可以开电子发票" in response.content.decode()


def test_supervisor_creates_edits_and_deletes_through_pages(client_for):
    c = client_for("supervisor")

    c.post(reverse("crm:faq_create"), {"question": "能退货吗", "answer": "能", "keywords": ""})
    faq = FAQ.objects.get()
    c.post(reverse("crm:faq_edit", args=[faq.pk]), {"question": "能换货吗", "answer": "能"})
    faq.refresh_from_db()
    assert faq.question == "能换货吗"
    assert faq_search("换货") == [faq]

    c.post(reverse("crm:faq_delete", args=[faq.pk]))
    assert not FAQ.objects.exists()
    actions = list(_entries().order_by("id").values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]


def test_bad_input_on_the_page_is_a_400_with_errors(client_for):
    response = client_for("supervisor").post(
        reverse("crm:faq_create"), {"question": "", "answer": ""}
    )
    assert response.status_code == 400
    assert not FAQ.objects.exists()


def test_agent_cannot_create_edit_or_delete_faq(client_for):
    faq = FAQFactory(question="原问题", answer="原答案")
    c = client_for("agent")

    responses = [
        c.get(reverse("crm:faq_create")),
        c.post(reverse("crm:faq_create"), {"question": "新", "answer": "新"}),
        c.post(reverse("crm:faq_edit", args=[faq.pk]), {"question": "改", "answer": "改"}),
        c.post(reverse("crm:faq_delete", args=[faq.pk])),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    faq.refresh_from_db()
    assert (faq.question, faq.answer) == ("原问题", "原答案")
    assert FAQ.objects.count() == 1
    assert not _entries()


def test_finance_cannot_read_the_faq(client_for):
    c = client_for("finance")
    assert c.get(reverse("crm:faq_list")).status_code == 403
    assert c.get(reverse("crm:faq_quick_search"), {"q": "退货"}).status_code == 403


# --- API ----------------------------------------------------------------------------------


def test_api_search_with_q_is_ranked_and_paginated(api_for, corpus, django_assert_max_num_queries):
    api = api_for("agent")

    with django_assert_max_num_queries(6):
        response = api.get("/api/crm/faq/", {"q": "退货", "page_size": 2})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 5
    assert [r["id"] for r in body["results"]] == [corpus["q2"].pk, corpus["q"].pk]
    assert "search_terms" not in body["results"][0]


def test_api_list_filters_by_category(api_for, django_assert_max_num_queries):
    for _ in range(30):
        FAQFactory(category="支付", product=ProductFactory())
    FAQFactory(category="赠品")
    api = api_for("agent")

    with django_assert_max_num_queries(6):
        response = api.get("/api/crm/faq/", {"category": "赠品"})

    assert response.json()["count"] == 1


def test_api_create_update_delete_through_services(api_for):
    api = api_for("supervisor")

    created = api.post("/api/crm/faq/", {"question": "能退货吗", "answer": "能"}, format="json")
    pk = created.json()["id"]
    patched = api.patch(f"/api/crm/faq/{pk}/", {"keywords": "退货，七天"}, format="json")
    found = api.get("/api/crm/faq/", {"q": "七天"})
    deleted = api.delete(f"/api/crm/faq/{pk}/")

    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    assert patched.json()["keywords"] == "退货,七天"
    assert [r["id"] for r in found.json()["results"]] == [pk]
    assert list(_entries().order_by("id").values_list("action", flat=True)) == [
        "create",
        "update",
        "delete",
    ]


def test_api_bad_input_uses_the_error_contract(api_for):
    response = api_for("supervisor").post(
        "/api/crm/faq/", {"question": " ", "answer": "x"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "fields"}
    assert not FAQ.objects.exists()


def test_api_agent_cannot_change_the_faq(api_for):
    faq = FAQFactory(question="原问题")
    api = api_for("agent")

    responses = [
        api.post("/api/crm/faq/", {"question": "新", "answer": "新"}, format="json"),
        api.patch(f"/api/crm/faq/{faq.pk}/", {"question": "改"}, format="json"),
        api.delete(f"/api/crm/faq/{faq.pk}/"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    faq.refresh_from_db()
    assert faq.question == "原问题"
    assert FAQ.objects.count() == 1
