from django.urls import path

from telephony import views

app_name = "telephony"

urlpatterns = [
    path("desktop/", views.desktop, name="desktop"),
    path("desktop/panel/", views.desktop_panel, name="desktop_panel"),
    path("desktop/seat/login/", views.seat_login, name="seat_login"),
    path("desktop/seat/logout/", views.seat_logout, name="seat_logout"),
    path("desktop/status/", views.agent_status, name="agent_status"),
    path("calls/<int:pk>/pop/", views.call_pop, name="call_pop"),
    path("calls/<int:pk>/pop/customer/", views.pop_customer_create, name="pop_customer_create"),
    path("calls/<int:pk>/transfer/", views.call_transfer, name="call_transfer"),
    path("dial/", views.dial, name="dial"),
]
