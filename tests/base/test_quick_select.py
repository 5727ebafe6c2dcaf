"""The filter bars' selects built in Python give the same markup as Django's templates."""

from __future__ import annotations

import pytest
from django import forms
from django.template import Context, Template
from django.test.html import parse_html

from tvshop.audit.pages import yes_no_any
from tvshop.media.models import Station

pytestmark = pytest.mark.django_db


class _Form(forms.Form):
    station = forms.ModelChoiceField(queryset=Station.objects.order_by("name"), required=False)
    colour = forms.ChoiceField(
        choices=[("", "—"), ("Warm", [("red", "Red <b>"), ("amber", "Amber")]), ("blue", "Blue")],
        required=False,
    )
    flag = forms.NullBooleanField(required=False, widget=yes_no_any())
    yes = forms.NullBooleanField(required=False)
    multi = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    text = forms.CharField(required=False)


@pytest.mark.parametrize(
    "data",
    [{}, {"colour": "amber", "flag": "false", "yes": "true", "multi": ["b"], "text": "<x>"}],
)
def test_every_field_renders_as_django_renders_it(data):
    Station.objects.create(code="q1", name="湖南卫视 & Co")
    second = Station.objects.create(code="q2", name="东方卫视")
    form = _Form(data={**data, "station": str(second.pk)} if data else None)
    template = Template("{% load list_pages %}{{ field|quick_field }}")
    for field in form:
        quick = template.render(Context({"field": field}))
        assert parse_html(quick) == parse_html(str(field)), field.name
    # and the choice the user made is the one selected, names escaped
    if data:
        html = template.render(Context({"field": form["colour"]}))
        assert '<option value="amber" selected>Amber</option>' in html
        assert "Red &lt;b&gt;" in html
        assert "selected" in template.render(Context({"field": form["station"]}))
