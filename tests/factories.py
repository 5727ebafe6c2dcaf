"""factory_boy factories shared by the suite."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from crm.models import Customer, CustomerPhone
from tvshop.catalog.models import Gift, Product, Supplier
from tvshop.media.models import Hotline, Station

TEST_PASSWORD = "Tvshop-test-2026!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"员工{n}")
    language = "zh-hans"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"供应商{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"商品{n}")
    price = Decimal("199.00")
    cost = Decimal("80.00")


class GiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gift

    sku = factory.Sequence(lambda n: f"G{n:04d}")
    name = factory.Sequence(lambda n: f"赠品{n}")
    value = Decimal("20.00")
    stock = 100


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    code = factory.Sequence(lambda n: f"st{n}")
    name = factory.Sequence(lambda n: f"电视台{n}")


class HotlineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hotline

    number = factory.Sequence(lambda n: f"400800{n:04d}")
    station = factory.SubFactory(StationFactory)
    queue_name = factory.Sequence(lambda n: f"q{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")


class CustomerPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerPhone

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"+86138{n:08d}")
    kind = "mobile"
    is_primary = True
