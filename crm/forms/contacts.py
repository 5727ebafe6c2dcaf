"""Forms for service records, tickets and lead assignment. They validate shape only;
the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.choices import ContactChannel, LeadStatus, TicketKind, TicketPriority, TicketStatus
from crm.selectors.contacts import lead_agents, users_with_perm
from crm.services.contacts import SERVICE_RECORD_MAX_LENGTH
from crm.services.leads import LeadAssignStrategy
from crm.services.tickets import NOTE_MAX_LENGTH, TITLE_MAX_LENGTH
from tvshop.media.models import Station


class ServiceRecordForm(forms.Form):
    content = forms.CharField(
        label=_("Note"),
        max_length=SERVICE_RECORD_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ContactChannel.choices, initial=ContactChannel.INBOUND_CALL
    )


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class TicketCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TicketKind.choices)
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TicketPriority.choices, initial=TicketPriority.NORMAL
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=users_with_perm("crm.change_ticket"), required=False
    )
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=DateTimeLocalInput(),
        help_text=_("Empty: set by the priority (urgent 4 h, high 1 day, normal 3 days)."),
    )


class TicketStatusForm(forms.Form):
    """Shown on the ticket page next to other forms: ids start with "status_"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "status_%s")
        super().__init__(*args, **kwargs)

    to_status = forms.ChoiceField(label=_("New status"), choices=TicketStatus.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TicketAssignForm(forms.Form):
    """Shown on the ticket page next to other forms: ids start with "assign_"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "assign_%s")
        super().__init__(*args, **kwargs)

    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=users_with_perm("crm.change_ticket"), required=False
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX_LENGTH)


class TicketCommentForm(forms.Form):
    """Shown on the ticket page next to other forms: ids start with "comment_"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "comment_%s")
        super().__init__(*args, **kwargs)

    note = forms.CharField(
        label=_("Comment"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class LeadStatusForm(forms.Form):
    to_status = forms.ChoiceField(
        label=_("New status"),
        choices=[
            (LeadStatus.CONTACTED, LeadStatus.CONTACTED.label),
            (LeadStatus.CLOSED, LeadStatus.CLOSED.label),
        ],
    )


class LeadAssignForm(forms.Form):
    """Assign the selected leads. For "by station", one agent list per TV station
    (fields ``station_<id>``). The agent list is read once for all the selects."""

    leads = forms.ModelMultipleChoiceField(
        label=_("Leads"), queryset=None, widget=forms.MultipleHiddenInput, required=False
    )
    strategy = forms.ChoiceField(
        label=_("Strategy"),
        choices=LeadAssignStrategy.choices,
        initial=LeadAssignStrategy.ROUND_ROBIN,
    )
    agents = forms.TypedMultipleChoiceField(
        label=_("Agents"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Round-robin: the agents in turn. To one agent: choose one."),
    )

    def __init__(self, *args, leads_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self._agents = {user.pk: user for user in lead_agents()}
        choices = [(pk, user.display_name) for pk, user in self._agents.items()]
        self.fields["leads"].queryset = leads_queryset
        self.fields["agents"].choices = choices
        self.stations = list(Station.objects.filter(active=True).order_by("name"))
        for station in self.stations:
            self.fields[f"station_{station.pk}"] = forms.TypedMultipleChoiceField(
                label=station.name,
                coerce=int,
                choices=choices,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            )

    def station_fields(self):
        return [self[f"station_{s.pk}"] for s in self.stations]

    def chosen_agents(self) -> list:
        return [self._agents[pk] for pk in self.cleaned_data.get("agents") or []]

    def station_agents(self) -> dict[int, list]:
        return {
            s.pk: [self._agents[pk] for pk in self.cleaned_data.get(f"station_{s.pk}") or []]
            for s in self.stations
        }
