"""``manage.py load_demo``: the realistic demo `make run` starts with (see crm.demo)."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from crm.demo import (
    demo_load,
    demo_password_apply,
    demo_password_ensure,
    demo_present,
    demo_users,
)
from tvshop.accounts.roles import Role, role_label


class Command(BaseCommand):
    help = "Load the demo data (idempotent): users of every role, base data, customers, FAQ."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the demo (or any customer) is already in the database.",
        )
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help="Print the demo user names, one line per role, and exit.",
        )
        parser.add_argument(
            "--print-password",
            action="store_true",
            help="Print the demo password (kept in var/demo_password) and exit.",
        )

    def handle(self, *args, if_empty=False, print_logins=False, print_password=False, **opts):
        if print_password:
            password, new = demo_password_ensure()
            if new:
                demo_password_apply(password)
            self.stdout.write(password)
            return
        if print_logins:
            self._print_logins()
            return
        if if_empty and demo_present():
            self.stdout.write(_("Demo data already present; nothing loaded."))
            return
        started = time.perf_counter()
        created = demo_load(out=self.stdout.write)
        summary = ", ".join(f"{name} {count}" for name, count in created.items() if count)
        self.stdout.write(
            _("Demo data loaded in %(seconds).1f s: %(summary)s")
            % {"seconds": time.perf_counter() - started, "summary": summary or "-"}
        )

    def _print_logins(self) -> None:
        User = get_user_model()
        wanted = [u.username for u in demo_users()]
        present = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
        by_role: dict[str, list[str]] = {}
        for user in demo_users():
            if user.username in present:
                for role in user.roles:
                    by_role.setdefault(role, []).append(user.username)
        for role in Role:
            names = by_role.get(role.value, [])
            if not names:
                continue
            shown = f"{names[0]} … {names[-1]}" if len(names) > 3 else ", ".join(names)
            self.stdout.write(f"  {role_label(role.value):<10} {shown}")
