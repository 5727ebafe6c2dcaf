from rest_framework.routers import DefaultRouter

from tvshop.audit.api.views import AuditEntryViewSet

router = DefaultRouter()
router.register("entries", AuditEntryViewSet, basename="auditentry")

urlpatterns = router.urls
