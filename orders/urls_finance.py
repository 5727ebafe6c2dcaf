"""Finance, returns and merge pages (included by ``orders/urls.py`` in its namespace)."""

from django.urls import path

from orders.views import finance, merge, returns

urlpatterns = [
    path("finance/orders/", finance.ReceivableListView.as_view(), name="receivable_list"),
    path("finance/payments/", finance.PaymentListView.as_view(), name="payment_list"),
    path("finance/payments/export/", finance.payment_export, name="payment_export"),
    path("<int:pk>/payments/new/", finance.payment_create, name="payment_create"),
    path("finance/returns/", returns.ReturnListView.as_view(), name="return_list"),
    path("<int:pk>/returns/new/", returns.return_create, name="return_create"),
    path("<int:pk>/merge/", merge.order_merge_view, name="order_merge"),
]
