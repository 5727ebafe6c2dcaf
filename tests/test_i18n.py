"""Every string marked for translation has a Simplified Chinese translation."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
IGNORE = shutil.ignore_patterns(
    ".venv",
    "node_modules",
    "staticfiles",
    "var",
    ".git",
    "test-artifacts",
    "__pycache__",
    "locale",
    "bench",
    "*.pyc",
)


def _entries(path: Path) -> dict[tuple[str | None, str], polib.POEntry]:
    return {(e.msgctxt, e.msgid): e for e in polib.pofile(str(path)) if not e.obsolete}


def test_catalog_has_no_missing_or_fuzzy_translation():
    missing = [
        e.msgid
        for e in _entries(CATALOG).values()
        if "fuzzy" in e.flags
        or (e.msgid_plural and not all(e.msgstr_plural.values()))
        or (not e.msgid_plural and not e.msgstr)
    ]
    assert not missing, f"untranslated or fuzzy zh_Hans entries: {missing[:20]}"


def test_every_marked_string_is_in_the_catalog(tmp_path):
    assert shutil.which("xgettext"), "gettext is missing: `make install` installs it"
    # Extract from a copy of the tree so the real catalog is not rewritten by the test.
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=IGNORE, symlinks=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-v", "0"],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tvshop.settings"},
    )
    extracted = _entries(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    known = _entries(CATALOG)
    absent = [msgid for key, msgid in ((k, k[1]) for k in extracted) if key not in known]
    assert not absent, (
        f"marked strings missing from locale/zh_Hans (run make messages): {absent[:20]}"
    )
