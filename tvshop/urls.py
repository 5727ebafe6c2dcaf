from django.contrib import admin
from django.urls import include, path

from tvshop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("tvshop.accounts.urls")),
    path("audit/", include("tvshop.audit.urls")),
    path("catalog/", include("tvshop.catalog.urls")),
    path("media/", include("tvshop.media.urls")),
    path("crm/", include("crm.urls")),
    path("orders/", include("orders.urls")),
    path("logistics/", include("logistics.urls")),
    path("telephony/", include("telephony.urls")),
    path("callbacks/", include("telephony.callbacks.urls")),
    path("routing/", include("telephony.routing.urls")),
    path("reports/", include("tvshop.reports.urls")),
    path("api/", include("tvshop.api.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "tvshop.views.forbidden"
handler404 = "tvshop.views.not_found"
