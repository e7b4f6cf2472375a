"""Typing as a user meets it: the README's code under ``mypy --strict``, and ``py.typed`` found from
an installed package, not only from this checkout.

Both run mypy in a subprocess (a few seconds each); the installed-package test also builds a wheel
with pip (setuptools comes from pip's configured index, as for any ``pip install``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytest.importorskip("mypy", reason="mypy is in the dev extra")


def python_blocks(markdown: str) -> list[str]:
    """The contents of every ```python block of *markdown*, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE)


def mypy(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_python_blocks_finds_every_block() -> None:
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\nz = 3\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\nz = 3\n"]


def test_readme_python_blocks_pass_mypy_strict_and_run(tmp_path: Path) -> None:
    """Each python block of the README, as a user would paste it into a file, type-checks under
    ``mypy --strict`` against this checkout, and runs."""
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "the README has no python block"
    files = []
    for number, block in enumerate(blocks):
        path = tmp_path / f"readme_block_{number}.py"
        path.write_text(block, encoding="utf-8")
        files.append(path)
    done = mypy(*files, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for path in files:
        ran = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        assert ran.returncode == 0, ran.stderr


def test_a_bare_event_log_type_checks_without_an_annotation(tmp_path: Path) -> None:
    """``EventLog()`` with no annotation is ``EventLog[Hashable, Any]`` (TypeVar defaults), so a
    user's first lines pass ``mypy --strict``; a wrong use of a record still fails."""
    good = tmp_path / "bare.py"
    good.write_text(
        "from cowlog import EventLog\n"
        "log = EventLog()\n"
        "log.ingest('disk', {'free': 0}, 10)\n"
        "latest = log.latest('disk')\n"
        "if latest is not None:\n"
        "    ts, key, value = latest\n"
        "    print(ts + 1, key, value)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text("from cowlog import EventLog\nlog = EventLog()\nlog.latest('disk')[0] + 1\n")
    assert mypy(good, cwd=ROOT).returncode == 0
    refused = mypy(bad, cwd=ROOT)
    assert refused.returncode == 1 and "None" in refused.stdout


USER_CODE = """\
from cowlog import EventLog

log: EventLog[str, int] = EventLog()
log.ingest("disk", 1, timestamp=10)
for ts, key, value in log.replay():
    total: int = ts + value
    name: str = key
"""


@pytest.mark.timeout(600)
def test_installed_wheel_ships_py_typed_that_mypy_finds(tmp_path: Path) -> None:
    """Build a wheel from a copy of the sources, install it into a fresh venv, and type-check a
    user's file against that venv from a directory without the checkout. Then remove py.typed
    from the installed package: mypy must now refuse the import, which shows that the first run
    used the installed package and its marker."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("cowlog", "pyproject.toml", "README.md"):
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("cowlog-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the wheel and pyrsistent (from this interpreter's site-packages: no network needed)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", purelib, wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    import pyrsistent

    shutil.copytree(Path(pyrsistent.__file__).parent, Path(purelib) / "pyrsistent")
    marker = Path(purelib) / "cowlog" / "py.typed"
    assert marker.is_file(), "the wheel does not ship cowlog/py.typed"
    assert sysconfig.get_paths()["purelib"] != purelib

    user = tmp_path / "user"
    user.mkdir()
    (user / "app.py").write_text(USER_CODE, encoding="utf-8")
    done = mypy("--python-executable", python, "app.py", cwd=user)
    assert done.returncode == 0, done.stdout + done.stderr

    marker.unlink()
    without = mypy("--python-executable", python, "app.py", cwd=user)
    assert without.returncode == 1
    assert "missing library stubs or py.typed marker" in without.stdout
