"""Filter bars of list pages: ``{{ field|quick_field }}``.

Django renders every ``<option>`` of a ``<select>`` through two template includes; a filter
bar with a station, an agent and a province list (about a hundred options) spent a third of
the review queue's page time there (docs/decisions.md, "Selects of filter bars built in
Python"). A single-choice select is built here with the same markup; any other widget is
rendered by Django as usual.
"""

from __future__ import annotations

import copy
import functools

from django import forms, template
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


class QuickSelect(forms.Select):
    """``forms.Select`` with the markup of Django's own templates, built in Python."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.append(
                format_html_join(
                    "",
                    '<option value="{}"{}>{}</option>',
                    ((str(o["value"]), flatatt(o["attrs"]), o["label"]) for o in options),
                )
            )
            if group_name:
                parts.append(mark_safe("</optgroup>"))
        parts.append(mark_safe("</select>"))
        return mark_safe("".join(parts))


@register.filter
def quick_field(bound_field):
    widget = bound_field.field.widget
    if type(widget) not in (forms.Select, forms.NullBooleanSelect):
        return bound_field.as_widget()
    quick = copy.copy(widget)
    quick.__class__ = _quick_class(type(widget))
    return bound_field.as_widget(widget=quick)


@functools.cache
def _quick_class(widget_class: type) -> type:
    return type("Quick" + widget_class.__name__, (QuickSelect, widget_class), {})
