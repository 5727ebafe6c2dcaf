from django.urls import path

from telephony.callbacks import views

app_name = "callbacks"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("backlog/", views.backlog, name="backlog"),
    path("backlog/export/", views.export, name="export"),
    path("dispatcher/", views.dispatcher, name="dispatcher"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/dial/", views.dial, name="dial"),
    path("<int:pk>/outcome/", views.outcome, name="outcome"),
    path("<int:pk>/reassign/", views.reassign, name="reassign"),
]
