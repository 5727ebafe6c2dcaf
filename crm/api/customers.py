"""Customer API: customers with nested phones and addresses, the screen-pop lookup,
phones (add, remove, reveal) and addresses. Numbers are masked as on the pages."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from crm.choices import CustomerLevel, Salutation
from crm.masking import phone_for_user
from crm.models import Address, Customer, CustomerPhone, Division
from crm.phones import phone_display
from crm.selectors.customers import customer_find_by_phone, customer_search
from crm.services import customers as services
from tvshop.api.permissions import HasPerm
from tvshop.errors import NotFound
from tvshop.media.models import Station


class CustomerPermissions(BasePermission):
    """Phones and addresses are parts of a customer: reading needs crm.view_customer,
    changing them crm.change_customer."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return user.has_perm("crm.view_customer")
        return user.has_perm("crm.change_customer")


def _user(serializer) -> object:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class PhoneSerializer(serializers.ModelSerializer):
    number = serializers.SerializerMethodField(help_text="Masked unless the user may see it.")

    class Meta:
        model = CustomerPhone
        fields = ["id", "customer", "number", "kind", "province", "city", "is_primary"]
        read_only_fields = fields

    def get_number(self, obj) -> str:
        return phone_for_user(obj.number, _user(self))


class PhoneCreateSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    number = serializers.CharField(max_length=30)
    is_primary = serializers.BooleanField(default=False)


class AddressSerializer(serializers.ModelSerializer):
    province = serializers.SlugRelatedField(slug_field="code", queryset=Division.objects.all())
    city = serializers.SlugRelatedField(slug_field="code", queryset=Division.objects.all())
    district = serializers.SlugRelatedField(slug_field="code", queryset=Division.objects.all())
    province_name = serializers.CharField(source="province.name", read_only=True)
    city_name = serializers.CharField(source="city.name", read_only=True)
    district_name = serializers.CharField(source="district.name", read_only=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)

    class Meta:
        model = Address
        fields = [
            "id",
            "customer",
            "province",
            "province_name",
            "city",
            "city_name",
            "district",
            "district_name",
            "street",
            "postal_code",
            "recipient",
            "phone",
            "is_default",
        ]
        read_only_fields = ["id", "is_default"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = phone_for_user(instance.phone, _user(self)) if instance.phone else ""
        return data


class NestedAddressSerializer(AddressSerializer):
    class Meta(AddressSerializer.Meta):
        read_only_fields = AddressSerializer.Meta.fields


class CustomerSerializer(serializers.ModelSerializer):
    phones = PhoneSerializer(many=True, read_only=True)
    addresses = NestedAddressSerializer(many=True, read_only=True)
    phone_numbers = serializers.ListField(
        child=serializers.CharField(max_length=30),
        write_only=True,
        required=False,
        help_text="On create: the customer's numbers (at least one), any usual spelling.",
    )
    pin = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=8)
    salutation = serializers.ChoiceField(
        choices=Salutation.choices, required=False, allow_blank=True
    )
    level = serializers.ChoiceField(choices=CustomerLevel.choices, required=False)
    member_no = serializers.CharField(max_length=20, required=False, allow_blank=True)
    source_station = serializers.PrimaryKeyRelatedField(
        queryset=Station.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "salutation",
            "level",
            "member_no",
            "points_balance",
            "source_station",
            "notes",
            "merged_into",
            "phones",
            "addresses",
            "phone_numbers",
            "pin",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "points_balance", "merged_into", "created_at", "updated_at"]

    def create(self, validated_data):
        return services.customer_create(
            actor=_user(self),
            name=validated_data.get("name", ""),
            phones=validated_data.get("phone_numbers", []),
            salutation=validated_data.get("salutation", ""),
            level=validated_data.get("level", CustomerLevel.NORMAL),
            member_no=validated_data.get("member_no", ""),
            pin=validated_data.get("pin", ""),
            source_station=validated_data.get("source_station"),
            notes=validated_data.get("notes", ""),
        )

    def update(self, instance, validated_data):
        validated_data.pop("phone_numbers", None)  # phones change through /phones/
        return services.customer_update(actor=_user(self), customer=instance, **validated_data)


class CustomerFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=CustomerLevel.choices)

    class Meta:
        model = Customer
        fields = ["level"]


def _customer_prefetch(qs):
    return qs.prefetch_related(
        Prefetch(
            "addresses", queryset=Address.objects.select_related("province", "city", "district")
        )
    )


@extend_schema(
    parameters=[OpenApiParameter("q", str, description="Phone (full or part), name, member no.")]
)
class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers (merged-away customers are left out of the list). No delete: merge."""

    serializer_class = CustomerSerializer
    queryset = Customer.objects.all()
    filterset_class = CustomerFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        if self.action == "list":
            return _customer_prefetch(customer_search(self.request.query_params.get("q", "")))
        return _customer_prefetch(
            Customer.objects.select_related("source_station").prefetch_related("phones")
        )

    @extend_schema(
        parameters=[OpenApiParameter("phone", str, required=True)],
        responses=CustomerSerializer,
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request):
        """The customer owning a phone number (screen pop), or 404."""
        customer = customer_find_by_phone(request.query_params.get("phone", ""))
        if customer is None:
            raise NotFound(_("No customer has this number."))
        customer = self.get_queryset().get(pk=customer.pk)
        return Response(self.get_serializer(customer).data)


class PhoneViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Phone numbers; ``?customer=<id>`` filters. POST adds, DELETE removes (a customer
    keeps one), POST ``{id}/reveal/`` returns the full number and is audited."""

    queryset = CustomerPhone.objects.order_by("id")
    permission_classes = [CustomerPermissions]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_fields = ["customer"]

    def get_serializer_class(self):
        return PhoneCreateSerializer if self.action == "create" else PhoneSerializer

    def create(self, request, *args, **kwargs):
        serializer = PhoneCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phone = services.customer_phone_add(actor=request.user, **serializer.validated_data)
        return Response(PhoneSerializer(phone, context={"request": request}).data, status=201)

    def perform_destroy(self, instance):
        services.customer_phone_remove(actor=self.request.user, phone=instance)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"], permission_classes=[HasPerm.of("crm.reveal_phone")])
    def reveal(self, request, pk=None):
        phone = self.get_object()
        number = services.phone_reveal(
            actor=request.user, phone=phone, ip=request.META.get("REMOTE_ADDR")
        )
        return Response({"id": phone.pk, "number": number, "display": phone_display(number)})


class AddressViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Addresses; ``?customer=<id>`` filters. POST ``{id}/set_default/`` makes one the
    default."""

    queryset = Address.objects.select_related("province", "city", "district").order_by("id")
    serializer_class = AddressSerializer
    permission_classes = [CustomerPermissions]
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_fields = ["customer"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.address_add(actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = {
            k: serializer.validated_data.get(k, getattr(serializer.instance, k))
            for k in ("province", "city", "district", "street", "postal_code", "recipient")
        }
        data["phone"] = serializer.validated_data.get("phone", serializer.instance.phone)
        serializer.instance = services.address_update(
            actor=self.request.user, address=serializer.instance, **data
        )

    @extend_schema(request=None, responses=AddressSerializer)
    @action(detail=True, methods=["post"])
    def set_default(self, request, pk=None):
        address = services.address_set_default(actor=request.user, address=self.get_object())
        return Response(self.get_serializer(address).data)


def register(router) -> None:
    """Register this area's viewsets on the crm API router."""
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("phones", PhoneViewSet, basename="customerphone")
    router.register("addresses", AddressViewSet, basename="address")
