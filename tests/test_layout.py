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


def _ingest(cls: str, path: str) -> tuple[list[ast.stmt], ast.With]:
    """The statements of *cls*.ingest (less its docstring) and its ``with self._lock:``."""
    tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
    body = _method(tree, cls, "ingest").body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    (with_lock,) = (stmt for stmt in body if isinstance(stmt, ast.With))
    return body, with_lock


def _dumps(statements: list[ast.stmt]) -> list[str]:
    return [ast.dump(statement) for statement in statements]


def _stored(statement: ast.stmt) -> set[str]:
    """The names and ``self`` attributes *statement* assigns to."""
    stored = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            stored.add(f"self.{node.attr}")
    return stored


def test_the_journal_fast_path_mirrors_the_cores() -> None:
    """`JournaledLog.ingest` repeats `EventLog.ingest`'s fast path (docs/design.md, the write
    path), less a function call per event. Every statement of the core's copy must be in the
    journal's, the same and in the same order (under the lock too), but for the frame's write
    before the publishing store and the record the journal encoded; what the journal adds must
    not store to anything the two share. A change to the clock, the shortlog rule, the sealing or
    the repair made in one copy only fails here."""
    core_body, core_lock = _ingest("EventLog", "_log.py")
    journal_body, journal_lock = _ingest("JournaledLog", "journal.py")
    core_at, journal_at = core_body.index(core_lock), journal_body.index(journal_lock)
    assert _dumps(journal_body[:journal_at]) == _dumps(core_body[:core_at])  # before the lock
    assert _dumps(journal_body[journal_at + 1 :]) == _dumps(core_body[core_at + 1 :])

    # under the lock: the core's `if self._slow: return ...` is the journal's, with more causes
    core_slow, *core_rest = core_lock.body
    (journal_slow,) = (
        stmt
        for stmt in journal_lock.body
        if isinstance(stmt, ast.If) and "self._slow" in ast.unparse(stmt.test)
    )
    assert isinstance(core_slow, ast.If) and _dumps(journal_slow.body) == _dumps(core_slow.body)
    core_try, journal_try = core_rest[-1], journal_lock.body[-1]
    assert isinstance(core_try, ast.Try) and isinstance(journal_try, ast.Try)
    assert _dumps(journal_try.handlers) == _dumps(core_try.handlers)

    # the journal stores the record it encoded, and writes its frame just before publishing
    record = ast.dump(ast.parse("(timestamp, key, value)", mode="eval").body)
    core_stores = [
        ast.dump(s).replace(record, ast.dump(ast.Name("record", ast.Load()))) for s in core_try.body
    ]
    journal_stores = _dumps(journal_try.body)
    write = ast.dump(ast.parse("journal.write_payload(payload)").body[0])
    publish = len(journal_stores) - 1  # the store of the new version comes last
    assert journal_stores.index(write) == publish - 1
    journal_stores.remove(write)
    assert journal_stores == core_stores

    # the rest of the core's statements under the lock, in order, among the journal's
    expected = _dumps(core_rest[:-1])
    added = []
    for statement in journal_lock.body[:-1]:
        if expected and ast.dump(statement) == expected[0]:
            expected.pop(0)
        elif statement is not journal_slow:
            added.append(statement)
    assert not expected, f"not in the journal's copy: {expected}"
    shared = {"size", "sealed", "tail", "timestamp", "key", "value", "history"}
    shared |= {"self._version", "self._histories", "self._keys", "self._dirty", "self._slow"}
    for statement in added:
        assert not _stored(statement) & shared, ast.unparse(statement)
