from django.urls import path

from tvshop.catalog import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/new/", views.ProductFormView.as_view(), name="product_create"),
    path("products/<int:pk>/edit/", views.ProductFormView.as_view(), name="product_update"),
    path("gifts/", views.GiftListView.as_view(), name="gift_list"),
    path("gifts/new/", views.GiftFormView.as_view(), name="gift_create"),
    path("gifts/<int:pk>/edit/", views.GiftFormView.as_view(), name="gift_update"),
    path("suppliers/", views.SupplierListView.as_view(), name="supplier_list"),
    path("suppliers/new/", views.SupplierFormView.as_view(), name="supplier_create"),
    path("suppliers/<int:pk>/edit/", views.SupplierFormView.as_view(), name="supplier_update"),
    path("couriers/", views.CourierListView.as_view(), name="courier_list"),
    path("couriers/new/", views.CourierFormView.as_view(), name="courier_create"),
    path("couriers/<int:pk>/edit/", views.CourierFormView.as_view(), name="courier_update"),
]
