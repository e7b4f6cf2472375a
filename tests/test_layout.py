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


# -- the journal's copy of the core's fast path --------------------------------------------------


def _method(tree: ast.Module, cls: str, name: str) -> ast.FunctionDef:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item
    raise AssertionError(f"{cls}.{name} not found")


def _fast_path(cls: str, path: str) -> tuple[list[ast.stmt], ast.Try]:
    """The statements before ``with self._lock:`` in *cls*.ingest, and the last try under it."""
    tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
    body = [stmt for stmt in _method(tree, cls, "ingest").body if not isinstance(stmt, ast.Expr)]
    with_lock = body[-2] if isinstance(body[-1], ast.Return) else body[-1]
    assert isinstance(with_lock, ast.With), ast.dump(with_lock)
    tries = [stmt for stmt in with_lock.body if isinstance(stmt, ast.Try)]
    return body[: body.index(with_lock)], tries[-1]  # the journal's first one encodes


def test_the_journal_fast_path_mirrors_the_cores() -> None:
    """`JournaledLog.ingest` repeats `EventLog.ingest`'s fast path (docs/design.md, the write
    path), less a function call per event. The checks before the lock, the stores under it and
    the repair on failure must stay the same, statement for statement: a change to the shortlog
    rule, the sealing or the repair made in one copy only fails here."""
    core_checks, core_try = _fast_path("EventLog", "_log.py")
    journal_checks, journal_try = _fast_path("JournaledLog", "journal.py")
    assert [ast.dump(s) for s in journal_checks] == [ast.dump(s) for s in core_checks]
    assert [ast.dump(h) for h in journal_try.handlers] == [ast.dump(h) for h in core_try.handlers]

    # the journal stores the record it encoded (`record`), and writes its frame before publishing
    record = ast.parse("(timestamp, key, value)", mode="eval").body
    core_stores = [
        ast.dump(s).replace(ast.dump(record), ast.dump(ast.Name("record", ast.Load())))
        for s in core_try.body
    ]
    journal_stores = [ast.dump(s) for s in journal_try.body]
    write = ast.dump(ast.parse("journal.write_payload(payload)").body[0])
    assert write in journal_stores
    publish = len(journal_stores) - 1  # the store of the new version comes last
    assert journal_stores.index(write) == publish - 1
    journal_stores.remove(write)
    assert journal_stores == core_stores
