"""Heavy libraries stay out of the import of the CLI and of the shared core modules."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("jinja2", "numpy", "holidays", "inscriptis", "markupsafe", "pyarrow", "duckdb", "pyspark")


def test_cli_and_shared_modules_import_no_heavy_library() -> None:
    """Importing the CLI, config, the YAML loader, conditions, templating and busdays is light."""
    code = (
        "import sys\n"
        "import cstool.cli, cstool.config, cstool.yamlfile, cstool.conditions\n"
        "import cstool.templating, cstool.busdays\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_the_reference_workflow_imports_no_mail_code() -> None:
    """The 360 reads reference steps from the workflow without loading the mail modules."""
    code = (
        "import sys\n"
        "import cstool.refs.workflow, cstool.refs.given\n"
        "print(','.join(m for m in ('cstool.mail', 'cstool.refs.emails', 'email.message')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
