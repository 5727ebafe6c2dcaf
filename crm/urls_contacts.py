"""Routes for service records, tickets and inbound leads."""

from django.urls import path

from crm.views import contacts as views

urlpatterns = [
    path("service-records/", views.servicerecord_list, name="servicerecord_list"),
    path(
        "customers/<int:pk>/service-records/",
        views.customer_service_records_fragment,
        name="customer_service_records",
    ),
    path("tickets/", views.ticket_list_view, name="ticket_list"),
    path("tickets/new/", views.ticket_create_view, name="ticket_create"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/status/", views.ticket_set_status_view, name="ticket_set_status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign_view, name="ticket_assign"),
    path("tickets/<int:pk>/comment/", views.ticket_comment_view, name="ticket_comment"),
    path("customers/<int:pk>/tickets/", views.customer_tickets_fragment, name="customer_tickets"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/assign/", views.lead_assign_view, name="lead_assign"),
    path("leads/export/", views.lead_export_view, name="lead_export"),
    path("leads/<int:pk>/status/", views.lead_set_status_view, name="lead_set_status"),
]
