"""Callbacks API: the backlog (supervisors), the agent's own callbacks, and the actions
(claim, release, dial, outcome, reassign; pause/resume the dispatcher). Writes go through
the services; phone numbers are masked for the requesting user."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from crm.masking import phone_for_user
from telephony.callbacks import selectors, services, surge_active
from telephony.callbacks.choices import CallbackOutcome, DispatchMode
from telephony.callbacks.models import CallbackAttempt, CallbackControl, CallbackRequest
from telephony.callbacks.services import MANAGE_PERM, VIEW_PERM, WORK_PERM
from tvshop.api.permissions import HasPerm

User = get_user_model()


class CallbackAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallbackAttempt
        fields = ["id", "agent", "call", "mode", "started_at", "ended_at", "result", "cause"]


class CallbackSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    customer_name = serializers.SerializerMethodField()
    station_name = serializers.SerializerMethodField()
    order_number = serializers.SerializerMethodField()

    class Meta:
        model = CallbackRequest
        fields = [
            "id",
            "phone",
            "customer",
            "customer_name",
            "hotline",
            "station",
            "station_name",
            "airing_slot",
            "reason",
            "first_call_at",
            "last_call_at",
            "call_count",
            "priority",
            "status",
            "attempts",
            "next_attempt_at",
            "assigned_agent",
            "offered_at",
            "outcome",
            "order",
            "order_number",
            "call_again_at",
            "note",
            "closed_at",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        return phone_for_user(obj.number, self.context["request"].user)

    def get_customer_name(self, obj) -> str:
        return obj.customer.name if obj.customer_id else ""

    def get_station_name(self, obj) -> str:
        return obj.station.name if obj.station_id else ""

    def get_order_number(self, obj) -> str:
        return obj.order.number if obj.order_id else ""


class CallbackDetailSerializer(CallbackSerializer):
    attempt_log = CallbackAttemptSerializer(many=True, read_only=True)

    class Meta(CallbackSerializer.Meta):
        fields = [*CallbackSerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[c for c in CallbackOutcome.choices if c[0]])
    order = serializers.CharField(required=False, allow_blank=True, default="")
    call_again_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReassignSerializer(serializers.Serializer):
    agent = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True
    )


class _Empty(serializers.Serializer):
    pass


class CallbackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Callback requests (回电). Supervisors (view permission) see all of them; agents
    see their own and the due ones they may claim. Actions go through the services;
    refusals answer ``{code, message, fields}`` with a 4xx."""

    queryset = CallbackRequest.objects.none()
    filterset_class = selectors.CallbackFilter
    ordering_fields = ["priority", "first_call_at", "attempts", "id"]

    def get_permissions(self):
        if self.action == "reassign":
            return [HasPerm.of(MANAGE_PERM)()]
        if self.action == "outcome":
            return [IsAuthenticated()]
        if self.action in ("list", "retrieve"):
            return [IsAuthenticated()]
        return [HasPerm.of(WORK_PERM)()]

    def get_queryset(self):
        user = self.request.user
        queryset = selectors.callback_list().order_by("-priority", "first_call_at", "id")
        if user.has_perm(VIEW_PERM):
            return queryset
        if user.has_perm(WORK_PERM):
            return queryset.filter(
                Q(assigned_agent=user) | Q(pk__in=selectors.callbacks_due().values("pk"))
            )
        return queryset.none()

    def get_serializer_class(self):
        return {
            "retrieve": CallbackDetailSerializer,
            "outcome": OutcomeSerializer,
            "reassign": ReassignSerializer,
        }.get(self.action, CallbackSerializer)

    def list(self, request, *args, **kwargs):
        if not (request.user.has_perm(VIEW_PERM) or request.user.has_perm(WORK_PERM)):
            self.permission_denied(request)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        if not (request.user.has_perm(VIEW_PERM) or request.user.has_perm(WORK_PERM)):
            self.permission_denied(request)
        return super().retrieve(request, *args, **kwargs)

    def _answer(self, callback):
        callback = selectors.callback_list().get(pk=callback.pk)
        return Response(CallbackSerializer(callback, context={"request": self.request}).data)

    @extend_schema(request=_Empty, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        return self._answer(services.callback_claim(actor=request.user, callback_id=int(pk)))

    @extend_schema(request=_Empty, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._answer(services.callback_release(actor=request.user, callback_id=int(pk)))

    @extend_schema(request=_Empty, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def dial(self, request, pk=None):
        return self._answer(services.callback_dial(actor=request.user, callback_id=int(pk)))

    @extend_schema(request=OutcomeSerializer, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        data = OutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        return self._answer(
            services.callback_record_outcome(
                actor=request.user,
                callback_id=int(pk),
                outcome=values["outcome"],
                order=values["order"] or None,
                call_again_at=values["call_again_at"],
                note=values["note"],
            )
        )

    @extend_schema(request=ReassignSerializer, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        data = ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            services.callback_reassign(
                actor=request.user, callback_id=int(pk), agent=data.validated_data["agent"]
            )
        )


class DispatcherSerializer(serializers.ModelSerializer):
    surge = serializers.SerializerMethodField()

    class Meta:
        model = CallbackControl
        fields = [
            "dispatcher_paused",
            "paused_by",
            "paused_at",
            "mode",
            "surge",
            "surge_changed_at",
            "last_tick_at",
            "last_tick_note",
        ]
        read_only_fields = fields

    def get_surge(self, obj) -> bool:
        return surge_active()


class DispatcherChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["pause", "resume", "mode"])
    mode = serializers.ChoiceField(choices=DispatchMode.choices, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DispatcherView(APIView):
    """The callback dispatcher's state; supervisors pause, resume or set its mode
    (audited)."""

    def get_permissions(self):
        if self.request.method == "GET":
            return [HasPerm.of(VIEW_PERM)()]
        return [HasPerm.of(MANAGE_PERM)()]

    @extend_schema(responses=DispatcherSerializer)
    def get(self, request):
        return Response(DispatcherSerializer(services.control_get()).data)

    @extend_schema(request=DispatcherChangeSerializer, responses=DispatcherSerializer)
    def post(self, request):
        data = DispatcherChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["action"] == "pause":
            control = services.dispatcher_pause(actor=request.user, reason=values["reason"])
        elif values["action"] == "resume":
            control = services.dispatcher_resume(actor=request.user)
        else:
            control = services.dispatcher_set_mode(actor=request.user, mode=values.get("mode", ""))
        return Response(DispatcherSerializer(control).data)


router = SimpleRouter()
router.register("requests", CallbackViewSet, basename="callback")

urlpatterns = [
    path("dispatcher/", DispatcherView.as_view(), name="callback-dispatcher"),
    *router.urls,
]
