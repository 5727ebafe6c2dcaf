"""API for service records, tickets and inbound leads. Writes go through the services;
phone numbers are masked for the requesting user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.choices import TicketStatus
from crm.masking import phone_for_user
from crm.models import Customer, Lead, ServiceRecord, Ticket, TicketEvent
from crm.selectors.contacts import (
    LeadFilter,
    ServiceRecordFilter,
    TicketFilter,
    lead_visible_to,
    service_record_list,
    ticket_history,
    ticket_list,
)
from crm.services.contacts import service_record_create
from crm.services.leads import LeadAssignStrategy, lead_assign
from crm.services.tickets import ticket_assign, ticket_comment, ticket_create, ticket_set_status
from tvshop.api.permissions import HasPerm
from tvshop.media.models import Station

User = get_user_model()


def _name(user) -> str:
    return user.display_name if user else ""


# --- service records ----------------------------------------------------------------------


class ServiceRecordSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    agent_name = serializers.SerializerMethodField()
    at = serializers.DateTimeField(required=False)

    class Meta:
        model = ServiceRecord
        fields = [
            "id",
            "customer",
            "customer_name",
            "agent",
            "agent_name",
            "at",
            "channel",
            "content",
            "call_uuid",
            "created_at",
        ]
        read_only_fields = ["agent", "created_at"]

    def get_agent_name(self, obj) -> str:
        return _name(obj.agent)


class ServiceRecordViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Service notes (服务记录). Creating one writes it as the requesting agent."""

    queryset = ServiceRecord.objects.none()
    serializer_class = ServiceRecordSerializer
    filterset_class = ServiceRecordFilter
    ordering_fields = ["at", "id"]

    def get_queryset(self):
        return service_record_list()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = service_record_create(
            actor=self.request.user,
            customer=data["customer"],
            content=data["content"],
            channel=data.get("channel", ServiceRecord._meta.get_field("channel").default),
            at=data.get("at"),
            call_uuid=data.get("call_uuid", ""),
        )


# --- tickets ------------------------------------------------------------------------------


class TicketEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "at", "actor", "actor_name", "from_status", "to_status"]
        fields += ["assignee", "note"]

    def get_actor_name(self, obj) -> str:
        return _name(obj.actor)


class TicketSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    assignee_name = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "customer",
            "customer_name",
            "kind",
            "title",
            "description",
            "status",
            "priority",
            "assignee",
            "assignee_name",
            "due_at",
            "is_overdue",
            "created_by",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = ["status", "created_by", "created_at", "updated_at", "closed_at"]

    def get_assignee_name(self, obj) -> str:
        return _name(obj.assignee)


class TicketDetailSerializer(TicketSerializer):
    events = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "events"]

    @extend_schema(responses=TicketEventSerializer(many=True))
    def get_events(self, obj) -> list[dict]:
        return TicketEventSerializer(ticket_history(ticket=obj), many=True).data


class TicketStatusSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=TicketStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TicketAssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TicketCommentSerializer(serializers.Serializer):
    note = serializers.CharField()


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Tickets. Status changes only through ``set-status`` (the transition table);
    an illegal step answers 409 ``illegal_transition``."""

    queryset = Ticket.objects.none()
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "due_at", "id", "priority"]

    def get_queryset(self):
        return ticket_list()

    def get_serializer_class(self):
        return {
            "retrieve": TicketDetailSerializer,
            "set_status": TicketStatusSerializer,
            "assign": TicketAssignSerializer,
            "comment": TicketCommentSerializer,
        }.get(self.action, TicketSerializer)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        ticket = ticket_create(actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=ticket.pk)

    def _run(self, request, fn):
        ticket = self.get_object()
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fn(ticket, payload.validated_data)
        fresh = self.get_queryset().get(pk=ticket.pk)
        return Response(TicketDetailSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=TicketStatusSerializer, responses=TicketDetailSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="set-status",
        permission_classes=[HasPerm.of("crm.view_ticket", "crm.change_ticket")],
    )
    def set_status(self, request, pk=None):
        return self._run(
            request,
            lambda t, d: ticket_set_status(
                actor=request.user, ticket=t, to_status=d["to_status"], note=d["note"]
            ),
        )

    @extend_schema(request=TicketAssignSerializer, responses=TicketDetailSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[HasPerm.of("crm.view_ticket", "crm.change_ticket")],
    )
    def assign(self, request, pk=None):
        return self._run(
            request,
            lambda t, d: ticket_assign(
                actor=request.user, ticket=t, assignee=d["assignee"], note=d["note"]
            ),
        )

    @extend_schema(request=TicketCommentSerializer, responses=TicketDetailSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[HasPerm.of("crm.view_ticket", "crm.change_ticket")],
    )
    def comment(self, request, pk=None):
        return self._run(
            request, lambda t, d: ticket_comment(actor=request.user, ticket=t, note=d["note"])
        )


# --- leads --------------------------------------------------------------------------------


class LeadSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    customer_name = serializers.SerializerMethodField()
    hotline_number = serializers.SerializerMethodField()
    station_name = serializers.SerializerMethodField()
    assigned_to_name = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "phone",
            "day",
            "customer",
            "customer_name",
            "hotline",
            "hotline_number",
            "station",
            "station_name",
            "first_at",
            "last_at",
            "call_count",
            "status",
            "assigned_to",
            "assigned_to_name",
            "assigned_at",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        return phone_for_user(obj.phone, self.context["request"].user)

    def get_customer_name(self, obj) -> str:
        return obj.customer.name if obj.customer else ""

    def get_hotline_number(self, obj) -> str:
        return obj.hotline.number if obj.hotline else ""

    def get_station_name(self, obj) -> str:
        return obj.station.name if obj.station else ""

    def get_assigned_to_name(self, obj) -> str:
        return _name(obj.assigned_to)


class LeadAssignSerializer(serializers.Serializer):
    leads = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.all(), many=True)
    strategy = serializers.ChoiceField(choices=LeadAssignStrategy.choices)
    agents = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), many=True, required=False, default=list
    )
    station_agents = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        required=False,
        default=dict,
        help_text="TV station id → agent ids, for the by_station strategy.",
    )

    def validate_station_agents(self, value):
        stations = set(Station.objects.filter(pk__in=[int(k) for k in value if str(k).isdigit()]))
        known = {s.pk for s in stations}
        wanted = {int(k) for k in value if str(k).isdigit() and int(k) in known}
        if len(wanted) != len(value):
            raise serializers.ValidationError(_("Unknown TV station."))
        ids = {i for people in value.values() for i in people}
        users = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)}
        if len(users) != len(ids):
            raise serializers.ValidationError(_("Unknown or inactive user."))
        return {int(k): [users[i] for i in people] for k, people in value.items()}


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    """Inbound leads (进线); an agent sees the leads assigned to them."""

    queryset = Lead.objects.none()
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["day", "last_at", "call_count", "id"]

    def get_queryset(self):
        return lead_visible_to(user=self.request.user)

    @extend_schema(
        request=LeadAssignSerializer,
        responses=inline_serializer(
            "LeadAssignResult",
            {"assigned": serializers.DictField(child=serializers.IntegerField())},
        ),
    )
    @action(detail=False, methods=["post"], permission_classes=[HasPerm.of("crm.assign_lead")])
    def assign(self, request):
        payload = LeadAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        given = lead_assign(
            actor=request.user,
            leads=data["leads"],
            strategy=data["strategy"],
            agents=data["agents"],
            station_agents=data["station_agents"],
        )
        return Response(
            {"assigned": {str(k): v for k, v in given.items()}}, status=status.HTTP_200_OK
        )


def register(router) -> None:
    """Register this area's viewsets on the crm API router."""
    router.register("service-records", ServiceRecordViewSet, basename="servicerecord")
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("leads", LeadViewSet, basename="lead")
