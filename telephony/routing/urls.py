from django.urls import path

from telephony.routing import views

app_name = "routing"

urlpatterns = [
    path("", views.policy_list, name="policy_list"),
    path("<int:pk>/", views.policy_edit, name="policy_edit"),
    path("<int:pk>/holidays/", views.holiday_add, name="holiday_add"),
    path("<int:pk>/holidays/<int:holiday_id>/delete/", views.holiday_delete, name="holiday_delete"),
]
