"""A non-editable install finds tasks/, templates/ and the reference table as package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_tasks_templates_and_reference(tmp_path):
    # build from a clean copy: a stale build/ folder in the checkout would hide a package
    # missing from pyproject.toml
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "results"))
    shutil.copytree(ROOT / "results" / "reference", source / "results" / "reference")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("ibench-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "from ibench.resources import resource_dir; from ibench.protocol.suite import load_tasks; "
        "from ibench.protocol.templates import load_families; "
        "from ibench.protocol.paper import reference_rows; "
        "print(resource_dir('tasks')); print(len(load_tasks()), len(load_families()), "
        "len(reference_rows())); from ibench.data.formats import FORMATS; print(len(FORMATS)); "
        "from ibench.report.html.page import _environment; "
        "print(*[_environment().get_template(n).filename for n in ('report.html', 'report.css')])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, text=True,
                         capture_output=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin"},
                         timeout=120).stdout.split("\n")
    assert out[0] == str(site / "ibench" / "_shipped" / "tasks")
    assert out[1] == "28 12 11"
    assert out[2] == "35"  # every format module is in the wheel
    templates = site / "ibench" / "report" / "html" / "templates"  # the HTML report's page
    assert out[3] == f"{templates / 'report.html'} {templates / 'report.css'}"


# distribution name -> the module it is imported as
_IMPORT_NAMES = {"pillow": "PIL", "pyyaml": "yaml", "jinja2": "jinja2"}


def test_every_declared_dependency_is_imported_by_ibench():
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    source = "\n".join(p.read_text() for p in (root / "ibench").rglob("*.py"))
    for dep in deps:
        name = re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower()
        module = _IMPORT_NAMES.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {re.escape(module)}\b", source, re.M), (
            f"{name} is declared in pyproject.toml but ibench never imports {module}")
