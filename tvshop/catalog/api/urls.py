from rest_framework.routers import DefaultRouter

from tvshop.catalog.api.views import GiftViewSet, ProductViewSet, SupplierViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("gifts", GiftViewSet, basename="gift")
router.register("suppliers", SupplierViewSet, basename="supplier")

urlpatterns = router.urls
