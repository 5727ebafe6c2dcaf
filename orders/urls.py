from django.urls import path

from orders.views import detail, entry, review

app_name = "orders"

urlpatterns = [
    # entry
    path("new/", entry.order_new, name="order_new"),
    path("new/summary/", entry.entry_summary, name="entry_summary"),
    path("new/line/", entry.entry_line, name="entry_line"),
    path("products/", entry.product_search, name="product_search"),
    path("mine/", entry.MyOrdersView.as_view(), name="my_orders"),
    path("<int:pk>/", detail.order_detail_view, name="order_detail"),
    path("<int:pk>/edit/", entry.order_edit, name="order_edit"),
    path("<int:pk>/add-lines/", entry.order_add_lines_view, name="order_add_lines"),
    path("<int:pk>/cancel/", detail.order_cancel_view, name="order_cancel"),
    path("customers/<int:pk>/", detail.customer_orders_tab, name="customer_orders"),
    # review
    # (the nav links to the queues by these names, without arguments)
    path("review/1/", review.ReviewQueueView.as_view(), {"stage": 1}, name="review_first"),
    path("review/2/", review.ReviewQueueView.as_view(), {"stage": 2}, name="review_second"),
    path("review/<int:stage>/", review.ReviewQueueView.as_view(), name="review_queue"),
    path("review/<int:stage>/bulk/", review.review_bulk, name="review_bulk"),
    path("review/<int:stage>/<int:pk>/", review.review_order, name="review_order"),
    path("review/<int:stage>/<int:pk>/approve/", review.review_approve, name="review_approve"),
    path("review/<int:stage>/<int:pk>/reject/", review.review_reject, name="review_reject"),
]

# Payments, returns and merges (helper O2's pages).
from orders.urls_finance import urlpatterns as finance_urlpatterns  # noqa: E402

urlpatterns += finance_urlpatterns
