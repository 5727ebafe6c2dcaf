"""crm API; each area registers its viewsets in its own module."""

from rest_framework.routers import DefaultRouter

from crm.api import contacts, customers, knowledge

router = DefaultRouter()
customers.register(router)
contacts.register(router)
knowledge.register(router)

urlpatterns = router.urls
