"""The audit log page (操作日志): read-only; search by user, object type, object, action
and time range."""

from __future__ import annotations

from tvshop.audit.filters import AuditEntryFilter
from tvshop.audit.pages import ListPage
from tvshop.audit.selectors import audit_entry_changes, audit_entry_list


class AuditEntryListView(ListPage):
    permission_required = "audit.view_auditentry"
    filterset_class = AuditEntryFilter
    template_name = "audit/entry_list.html"
    results_template_name = "audit/_entry_results.html"
    paginate_by = 50

    def base_queryset(self):
        return audit_entry_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for entry in context["object_list"]:
            entry.change_rows = audit_entry_changes(entry)
        return context
