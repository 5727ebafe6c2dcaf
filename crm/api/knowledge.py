"""API for scripts (话术) and FAQ. Writes go through ``crm.services.knowledge``."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.chinese_search import query_fragments
from crm.choices import ScriptStage
from crm.models import FAQ, Customer, Script
from crm.selectors import knowledge as selectors
from crm.services import knowledge as services
from tvshop.api.permissions import HasPerm
from tvshop.catalog.models import Product
from tvshop.errors import DomainError

# --- scripts ----------------------------------------------------------------------------


class ScriptSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    product_name = serializers.CharField(source="product.name", read_only=True, default="")
    updated_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Script
        fields = ["id", "title", "product", "product_name", "stage", "body", "active"]
        fields += ["updated_at", "updated_by", "updated_by_name"]
        read_only_fields = ["updated_at", "updated_by"]

    def get_updated_by_name(self, obj) -> str:
        return obj.updated_by.display_name if obj.updated_by else ""


class ScriptFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=ScriptStage.choices)

    class Meta:
        model = Script
        fields = ["product", "stage", "active"]


class ScriptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Scripts per product and stage. Saving refuses unknown placeholders (400)."""

    queryset = Script.objects.none()
    serializer_class = ScriptSerializer
    filterset_class = ScriptFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    search_fields = ["title", "body"]
    ordering_fields = ["updated_at", "id", "title"]

    def get_queryset(self):
        return selectors.script_list()

    def _save(self, serializer, script: Script | None):
        data = serializer.validated_data

        def value(name, default):
            if name in data:
                return data[name]
            return getattr(script, name) if script is not None else default

        serializer.instance = services.script_save(
            actor=self.request.user,
            script=script,
            title=value("title", ""),
            product=value("product", None),
            stage=value("stage", ""),
            body=value("body", ""),
            active=value("active", True),
        )

    def perform_create(self, serializer):
        self._save(serializer, None)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.INT, required=True),
        ],
        responses=inline_serializer(
            "ScriptRendered",
            {
                "script": serializers.IntegerField(),
                "customer": serializers.IntegerField(),
                "stage": serializers.CharField(),
                "text": serializers.CharField(),
                "html": serializers.CharField(),
            },
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="render",
        permission_classes=[HasPerm.of("crm.view_script", "crm.view_customer")],
    )
    def render(self, request, pk=None):
        """The script filled in for ``?customer=<id>``: plain ``text`` and escaped ``html``."""
        script = get_object_or_404(Script.objects.select_related("product"), pk=pk)
        raw = request.query_params.get("customer", "")
        if not raw.isdigit():
            message = _("Give the customer's id, e.g. ?customer=42.")
            raise DomainError(message, fields={"customer": [message]})
        customer = get_object_or_404(Customer, pk=int(raw))
        return Response(
            {
                "script": script.pk,
                "customer": customer.pk,
                "stage": script.stage,
                "text": services.script_render_text(
                    script=script, customer=customer, agent=request.user
                ),
                "html": str(
                    services.script_render(script=script, customer=customer, agent=request.user)
                ),
            }
        )


# --- FAQ --------------------------------------------------------------------------------


class FAQSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    product_name = serializers.CharField(source="product.name", read_only=True, default="")

    class Meta:
        model = FAQ
        fields = ["id", "question", "answer", "product", "product_name", "category"]
        fields += ["keywords", "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]


class FAQFilter(django_filters.FilterSet):
    class Meta:
        model = FAQ
        fields = ["product", "category"]


class FAQViewSet(viewsets.ModelViewSet):
    """FAQ entries. ``?q=`` searches question, keywords and answer (Chinese substrings,
    best matches first); without ``q`` the newest come first."""

    queryset = FAQ.objects.none()
    serializer_class = FAQSerializer
    filterset_class = FAQFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return (
            FAQ.objects.select_related("product")
            .defer("search_terms")
            .order_by("-updated_at", "-id")
        )

    def filter_queryset(self, queryset):
        query = self.request.query_params.get("q", "")
        if self.action != "list" or not query_fragments(query):
            return super().filter_queryset(queryset)
        # A search: ranked results, paged by the same paginator; filters applied inside.
        product = self.request.query_params.get("product", "").strip()
        if product and not product.isdigit():
            message = _("Give the product's id.")
            raise DomainError(message, fields={"product": [message]})
        return selectors.faq_search_results(
            query,
            product=int(product) if product else None,
            category=self.request.query_params.get("category") or None,
        )

    @extend_schema(parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="search")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _save(self, serializer, faq: FAQ | None):
        data = serializer.validated_data

        def value(name, default):
            if name in data:
                return data[name]
            return getattr(faq, name) if faq is not None else default

        serializer.instance = services.faq_save(
            actor=self.request.user,
            faq=faq,
            question=value("question", ""),
            answer=value("answer", ""),
            product=value("product", None),
            category=value("category", ""),
            keywords=value("keywords", ""),
        )

    def perform_create(self, serializer):
        self._save(serializer, None)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance):
        services.faq_delete(actor=self.request.user, faq=instance)


def register(router) -> None:
    """Register this area's viewsets on the crm API router."""
    router.register("scripts", ScriptViewSet, basename="script")
    router.register("faq", FAQViewSet, basename="faq")
