from django.urls import path

from tvshop.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.MediaView.as_view(), name="media"),
    path("curve/", views.CurveDataView.as_view(), name="curve"),
    path("point/", views.PointCallsView.as_view(), name="point"),
    path("queues/", views.QueueView.as_view(), name="queues"),
    path("agents/", views.AgentView.as_view(), name="agents"),
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("sales/", views.SalesView.as_view(), name="sales"),
    path("logistics/", views.LogisticsView.as_view(), name="logistics"),
    path("calls/", views.CallListView.as_view(), name="calls"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("schedules/", views.ScheduleListView.as_view(), name="schedules"),
    path("schedules/new/", views.ScheduleFormView.as_view(), name="schedule_create"),
]
