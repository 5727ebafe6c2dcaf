from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Statistics and dashboards that join several apps (媒体统计, call-center KPIs)."""

    name = "tvshop.reports"
    label = "reports"
    verbose_name = _("Statistics")
