from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telephony.callbacks.choices import CallbackOutcome, DispatchMode


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in CallbackOutcome.choices if c[0]]
    )
    order = forms.CharField(
        label=_("Order number"),
        required=False,
        max_length=20,
        help_text=_("For “Ordered”: the order taken on this call."),
    )
    call_again_at = forms.DateTimeField(
        label=_("Call again at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ReassignForm(forms.Form):
    agent = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=None,
        required=False,
        empty_label=_("(back to the pool)"),
    )

    def __init__(self, *args, agents=None, **kwargs):
        super().__init__(*args, **kwargs)
        from telephony.callbacks.selectors import callback_agents

        self.fields["agent"].queryset = agents if agents is not None else callback_agents()


class DispatcherForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("pause", _("Pause")), ("resume", _("Resume")), ("mode", _("Set mode"))]
    )
    mode = forms.ChoiceField(label=_("Mode"), choices=DispatchMode.choices, required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)
