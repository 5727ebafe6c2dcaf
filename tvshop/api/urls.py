"""API root: each app registers its viewsets in its own ``api/urls.py``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token

app_name = "api"

urlpatterns = [
    path("token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("crm/", include("crm.api.urls")),
    path("catalog/", include("tvshop.catalog.api.urls")),
    path("media/", include("tvshop.media.api.urls")),
    path("audit/", include("tvshop.audit.api.urls")),
    path("orders/", include("orders.api.urls")),
    path("logistics/", include("logistics.api.urls")),
    path("callbacks/", include("telephony.callbacks.api")),
    path("reports/", include("tvshop.reports.api")),
]
