"""The import contracts in pyproject.toml name every module of the web layer.

import-linter's forbidden contracts list modules one by one; a new module under drafting/
that is missing there could be imported by workflows or exports unnoticed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"models", "extensions", "text"}  # what workflows and exports may use of drafting


def web_modules() -> set[str]:
    found = set()
    for path in (ROOT / "drafting").iterdir():
        if path.name.startswith("__"):
            continue
        if path.suffix == ".py" or (path / "__init__.py").exists():
            found.add(f"drafting.{path.stem}")
    return found - {f"drafting.{name}" for name in ALLOWED}


def contracts() -> dict[str, dict[str, list[str]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_workflows_and_exports_are_kept_from_every_web_module() -> None:
    (contract,) = [
        c for c in contracts().values() if c["source_modules"] == ["workflows", "exports"]
    ]
    assert set(contract["forbidden_modules"]) == web_modules()


def test_the_text_core_is_kept_from_the_whole_app() -> None:
    (contract,) = [c for c in contracts().values() if c["source_modules"] == ["drafting.text"]]
    forbidden = set(contract["forbidden_modules"])
    assert web_modules() | {"drafting.models", "drafting.extensions"} <= forbidden
    assert {"workflows", "exports", "flask", "sqlalchemy"} <= forbidden
