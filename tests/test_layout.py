"""Issue 13: the package map holds: no arrow from the core to the periphery, a light import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cowlog

CORE = ["__init__", "_checks", "_state", "_snapshot", "_follow", "_log"]
PACKAGE = Path(cowlog.__file__).parent


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.update(
                f"{base}.{alias.name}" if not node.module else base for alias in node.names
            )
    return found


#: Imports made inside a function, when it is called, that the design map documents: the issue
#: names the journal's entry point ``EventLog.open`` (issue 16), which imports the journal then.
CALLED_ONLY = {("_log", ".journal")}


def test_no_core_module_imports_the_periphery() -> None:
    periphery = ("cli", "compat", "testing", "journal", "redis", "rich", "argparse", "hypothesis")
    for module in CORE:
        for name in _imports(module):
            if (module, name) in CALLED_ONLY:
                continue
            parts = name.lstrip(".").split(".")
            assert not any(part in periphery for part in parts), f"{module} imports {name}"


def test_every_core_module_is_on_the_design_map() -> None:
    design = (PACKAGE.parent / "docs" / "design.md").read_text()
    for module in CORE:
        assert f"`cowlog/{module}.py`" in design, module
    assert "`cowlog/cli/`" in design


def test_import_cowlog_loads_no_cli_rich_argparse_or_asyncio() -> None:
    code = (
        "import sys, cowlog; "
        "print(sorted(m for m in ('rich', 'argparse', 'asyncio', 'cowlog.cli', 'hypothesis') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
