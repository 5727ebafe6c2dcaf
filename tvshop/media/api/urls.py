from rest_framework.routers import DefaultRouter

from tvshop.media.api.views import AiringSlotViewSet, HotlineViewSet, StationViewSet

router = DefaultRouter()
router.register("stations", StationViewSet, basename="station")
router.register("hotlines", HotlineViewSet, basename="hotline")
router.register("airing-slots", AiringSlotViewSet, basename="airingslot")

urlpatterns = router.urls
