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


# Folders of the user's own task and template files (`--include-path DIR`): DIR/tasks/*.yaml
# and DIR/templates/*.yaml, read beside the shipped ones and validated the same way.
_INCLUDED: list[Path] = []


def include_path(folder: Path) -> None:
    """Add a folder of the user's own tasks/ and templates/ (a missing folder is an error)."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"--include-path {folder}: no such folder")
    if not any((folder / sub).is_dir() for sub in ("tasks", "templates")):
        raise FileNotFoundError(f"--include-path {folder}: it holds neither a tasks/ nor a "
                                f"templates/ folder of YAML files")
    if folder not in _INCLUDED:
        _INCLUDED.append(folder)


def included(name: str) -> list[Path]:
    """The included folders' `name` subfolders ("tasks" or "templates") that exist."""
    return [folder / name for folder in _INCLUDED if (folder / name).is_dir()]


def included_roots() -> list[str]:
    """The included folders, for the manifest."""
    return [str(p) for p in _INCLUDED]
