"""Scripts (话术) and FAQ pages."""

from django.urls import path

from crm.views import knowledge as views

urlpatterns = [
    path("scripts/", views.ScriptListView.as_view(), name="script_list"),
    path("scripts/new/", views.ScriptFormView.as_view(), name="script_create"),
    path("scripts/<int:pk>/", views.ScriptPreviewView.as_view(), name="script_preview"),
    path("scripts/<int:pk>/edit/", views.ScriptFormView.as_view(), name="script_edit"),
    path("faq/", views.FAQListView.as_view(), name="faq_list"),
    path("faq/quick/", views.FAQQuickSearchView.as_view(), name="faq_quick_search"),
    path("faq/new/", views.FAQFormView.as_view(), name="faq_create"),
    path("faq/<int:pk>/", views.FAQDetailView.as_view(), name="faq_detail"),
    path("faq/<int:pk>/edit/", views.FAQFormView.as_view(), name="faq_edit"),
    path("faq/<int:pk>/delete/", views.FAQDeleteView.as_view(), name="faq_delete"),
]
