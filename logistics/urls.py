from django.urls import path
from django.views.generic import RedirectView

from logistics import pages, views

app_name = "logistics"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="logistics:batch_list"), name="home"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/download/", views.batch_download, name="batch_download"),
    path("batches/<int:pk>/reissue/", views.batch_reissue, name="batch_reissue"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("imports/<int:pk>/errors/", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/report/", views.remittance_report, name="remittance_report"),
    path("tracking/", views.tracking, name="tracking"),
    path("statistics/", views.statistics, name="statistics"),
    path("templates/", pages.template_list, name="template_list"),
    path("templates/<int:courier_id>/", pages.template_edit, name="template_edit"),
    path("rules/<slug:kind>/", pages.RuleListPage.as_view(), name="rule_list"),
    path("rules/<slug:kind>/new/", pages.RuleFormPage.as_view(), name="rule_create"),
    path("rules/<slug:kind>/<int:pk>/edit/", pages.RuleFormPage.as_view(), name="rule_update"),
    path("rules/<slug:kind>/<int:pk>/delete/", pages.rule_delete, name="rule_delete"),
]
