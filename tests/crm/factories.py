"""Factories and helpers for the customers tests. Customers are made through the
services (normalised phones, audit) unless a test needs raw rows."""

from __future__ import annotations

import itertools

import factory

from crm.models import Customer, Division, PointsEntry
from crm.services.customers import customer_create

_mobile = itertools.count(10_000_000)


def next_mobile() -> str:
    """A fresh valid mainland mobile number (139xxxxxxxx)."""
    return f"139{next(_mobile):08d}"


def make_customer(*, actor=None, phones=None, name="张三", **kwargs) -> Customer:
    return customer_create(actor=actor, name=name, phones=phones or [next_mobile()], **kwargs)


def shenzhen_nanshan() -> dict:
    """A consistent province → city → district chain from the division table."""
    return {
        "province": Division.objects.get(code="44"),
        "city": Division.objects.get(code="4403"),
        "district": Division.objects.get(code="440305"),
    }


def beijing_haidian() -> dict:
    return {
        "province": Division.objects.get(code="11"),
        "city": Division.objects.get(code="1101"),
        "district": Division.objects.get(code="110108"),
    }


class PointsEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PointsEntry

    delta = 100
    balance_after = 100
    reason = "purchase"


def give_points(customer: Customer, points: int) -> None:
    """Test set-up only: a points entry and the matching balance."""
    customer.points_balance += points
    Customer.objects.filter(pk=customer.pk).update(points_balance=customer.points_balance)
    PointsEntryFactory(customer=customer, delta=points, balance_after=customer.points_balance)
