"""Where the shipped data folders (tasks/, templates/, results/reference/) are found.

A source checkout uses the top-level folders; an installed package uses the copies that
pyproject.toml maps into the `ibench._shipped` package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder `name` ("tasks", "templates" or "reference"), checkout first."""
    checkout = {
        "tasks": _PACKAGE.parent / "tasks",
        "templates": _PACKAGE.parent / "templates",
        "reference": _PACKAGE.parent / "results" / "reference",
    }
    if name not in checkout:
        raise KeyError(f"unknown resource folder {name!r}")
    if checkout[name].is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout[name]
    installed = _PACKAGE / "_shipped" / name
    if installed.is_dir():
        return installed
    raise FileNotFoundError(
        f"ibench cannot find its {name}/ folder (looked in {checkout[name]} and {installed}); "
        "reinstall the package"
    )
