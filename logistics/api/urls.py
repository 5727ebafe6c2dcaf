"""Logistics API routes (``/api/logistics/…``)."""

from rest_framework.routers import DefaultRouter

from logistics.api import views

router = DefaultRouter()
views.register(router)

urlpatterns = router.urls
