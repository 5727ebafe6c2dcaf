from django.urls import path

from crm.views import customers as views

urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/import/", views.customer_import, name="customer_import"),
    path(
        "customers/import/confirm/",
        views.customer_import_confirm,
        name="customer_import_confirm",
    ),
    path("customers/export/", views.customer_export, name="customer_export"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/merge/", views.customer_merge, name="customer_merge"),
    path("customers/<int:pk>/points/", views.customer_points_tab, name="customer_points"),
    path("customers/<int:pk>/phones/add/", views.phone_add, name="phone_add"),
    path("customers/<int:pk>/addresses/add/", views.address_add, name="address_add"),
    path("phones/<int:pk>/reveal/", views.phone_reveal, name="phone_reveal"),
    path("phones/<int:pk>/remove/", views.phone_remove, name="phone_remove"),
    path("addresses/<int:pk>/edit/", views.address_edit, name="address_edit"),
    path("addresses/<int:pk>/default/", views.address_set_default, name="address_set_default"),
    path("divisions/children/", views.division_children_options, name="division_children"),
]
