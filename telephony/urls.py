from django.urls import path

from telephony import views
from telephony.cdr import views as cdr_views
from telephony.supervision import views as supervision_views

app_name = "telephony"

urlpatterns = [
    path("desktop/", views.desktop, name="desktop"),
    path("desktop/panel/", views.desktop_panel, name="desktop_panel"),
    path("desktop/seat/login/", views.seat_login, name="seat_login"),
    path("desktop/seat/logout/", views.seat_logout, name="seat_logout"),
    path("desktop/status/", views.agent_status, name="agent_status"),
    path("calls/<int:pk>/pop/", views.call_pop, name="call_pop"),
    path("calls/by-uuid/<str:uuid>/pop/", views.call_pop_uuid, name="call_pop_uuid"),
    path("calls/<int:pk>/pop/customer/", views.pop_customer_create, name="pop_customer_create"),
    path("calls/<int:pk>/transfer/", views.call_transfer, name="call_transfer"),
    path("desktop/hold/", views.call_hold, name="call_hold"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("customers/<int:pk>/calls/", views.customer_calls, name="customer_calls"),
    path("dial/", views.dial, name="dial"),
    # supervision (telephony/supervision): wallboard, supervision actions, recordings
    path("wallboard/", supervision_views.wallboard, name="wallboard"),
    path("wallboard/snapshot/", supervision_views.wallboard_snapshot, name="wallboard_snapshot"),
    path("calls/<int:pk>/supervise/", supervision_views.supervise, name="supervise"),
    path("seats/<int:pk>/force/", supervision_views.seat_force, name="seat_force"),
    path("recordings/", supervision_views.recording_list, name="recording_list"),
    path("recordings/<int:pk>/play/", supervision_views.recording_stream, name="recording_play"),
    path(
        "recordings/<int:pk>/download/",
        supervision_views.recording_download,
        name="recording_download",
    ),
    # CDRs posted by FreeSWITCH's mod_json_cdr (telephony/cdr)
    path("cdr/", cdr_views.cdr_post, name="cdr_post"),
]
