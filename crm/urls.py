"""crm pages; each area keeps its routes in its own module."""

from django.urls import include, path

app_name = "crm"

urlpatterns = [
    path("", include("crm.urls_customers")),
    path("", include("crm.urls_contacts")),
    path("", include("crm.urls_knowledge")),
]
