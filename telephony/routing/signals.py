"""Changes that the switch must follow, pushed after commit (cheap: one small query, the
switch I/O on the routing pusher thread)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from crm.models import Customer, CustomerPhone
from telephony.routing.models import Holiday, RoutingPolicy


def _enabled() -> bool:
    return getattr(settings, "ROUTING_PUSH_ON_CHANGE", True)


@receiver(post_init, sender=Customer, dispatch_uid="routing_customer_level_loaded")
def _customer_loaded(sender, instance, **kwargs):
    # what was loaded (no query; a deferred field stays unknown)
    instance._routing_old_level = instance.__dict__.get("level")


@receiver(post_save, sender=Customer, dispatch_uid="routing_customer_level")
def _customer_level(sender, instance, created, raw=False, **kwargs):
    if raw or not _enabled():
        return
    old = getattr(instance, "_routing_old_level", None)
    instance._routing_old_level = instance.level
    if created and instance.level not in ("vip", "blacklisted"):
        return
    if not created and old == instance.level:
        return
    from telephony.routing.services import customer_numbers_push

    customer_id = instance.pk
    transaction.on_commit(lambda: customer_numbers_push(customer_id=customer_id))


@receiver(post_save, sender=CustomerPhone, dispatch_uid="routing_phone_saved")
def _phone_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not _enabled():
        return
    from telephony.routing.services import customer_numbers_push, number_gone_push

    customer_id = instance.customer_id
    number = instance.number
    old = getattr(instance, "_routing_old_number", None)
    instance._routing_old_number = number

    def push():
        moved = bool(old and old != number)
        if moved:
            number_gone_push(number=old)
        level = Customer.objects.filter(pk=customer_id).values_list("level", flat=True).first()
        if moved or level in ("vip", "blacklisted"):
            customer_numbers_push(customer_id=customer_id)

    transaction.on_commit(push)


@receiver(post_init, sender=CustomerPhone, dispatch_uid="routing_phone_loaded")
def _phone_loaded(sender, instance, **kwargs):
    instance._routing_old_number = instance.__dict__.get("number") if instance.pk else None


@receiver(post_delete, sender=CustomerPhone, dispatch_uid="routing_phone_deleted")
def _phone_deleted(sender, instance, **kwargs):
    if not _enabled():
        return
    from telephony.routing.services import number_gone_push

    number = instance.number
    transaction.on_commit(lambda: number_gone_push(number=number))


def _policy_changed(**kwargs):
    if kwargs.get("raw") or not _enabled():
        return
    update_fields = kwargs.get("update_fields")
    if update_fields and set(update_fields) <= {
        "overflow_active",
        "overflow_reason",
        "overflow_changed_at",
    }:
        return  # the controller's own state change; it pushes itself
    from telephony.routing.controller import overflow_evaluate

    transaction.on_commit(lambda: overflow_evaluate(push=True))


for _model in (RoutingPolicy, Holiday):
    post_save.connect(_policy_changed, sender=_model, dispatch_uid=f"routing_{_model.__name__}_s")
    post_delete.connect(_policy_changed, sender=_model, dispatch_uid=f"routing_{_model.__name__}_d")
