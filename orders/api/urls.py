"""Orders API; each area registers its viewsets in its own module (review actions can
register theirs here the same way)."""

from rest_framework.routers import DefaultRouter

from orders.api import views

router = DefaultRouter()
views.register(router)

urlpatterns = router.urls
