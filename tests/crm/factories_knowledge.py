"""Factories for scripts and FAQ (rows made directly; FAQ search terms filled as the
service would)."""

from __future__ import annotations

import factory

from crm.models import FAQ, Script
from crm.services.knowledge import faq_search_terms


class ScriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Script

    title = factory.Sequence(lambda n: f"话术{n}")
    stage = "opening"
    body = "您好，这里是电视购物订购热线。"


class FAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FAQ

    question = factory.Sequence(lambda n: f"常见问题{n}？")
    answer = "请拨打订购热线咨询。"
    category = ""
    keywords = ""
    search_terms = factory.LazyAttribute(
        lambda o: faq_search_terms(question=o.question, answer=o.answer, keywords=o.keywords)
    )
