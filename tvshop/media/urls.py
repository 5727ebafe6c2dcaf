from django.urls import path

from tvshop.media import views

app_name = "media"

urlpatterns = [
    path("stations/", views.StationListView.as_view(), name="station_list"),
    path("stations/new/", views.StationFormView.as_view(), name="station_create"),
    path("stations/<int:pk>/edit/", views.StationFormView.as_view(), name="station_update"),
    path("hotlines/", views.HotlineListView.as_view(), name="hotline_list"),
    path("hotlines/new/", views.HotlineFormView.as_view(), name="hotline_create"),
    path("hotlines/<int:pk>/edit/", views.HotlineFormView.as_view(), name="hotline_update"),
    path("schedule/", views.AiringSlotListView.as_view(), name="airingslot_list"),
    path("schedule/new/", views.AiringSlotFormView.as_view(), name="airingslot_create"),
    path("schedule/<int:pk>/edit/", views.AiringSlotFormView.as_view(), name="airingslot_update"),
    path(
        "schedule/<int:pk>/delete/",
        views.AiringSlotDeleteView.as_view(),
        name="airingslot_delete",
    ),
]
