from django.urls import path

from tvshop.accounts import views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language_set, name="language"),
    path("masking/", views.MaskingView.as_view(), name="masking"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.UserFormView.as_view(), name="user_create"),
    path("users/<int:pk>/edit/", views.UserFormView.as_view(), name="user_update"),
]
