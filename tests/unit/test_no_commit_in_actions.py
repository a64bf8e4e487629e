"""No action in ``workflows/`` or ``exports/`` commits by itself (issue 10 item 1).

The outermost caller owns the transaction through :mod:`workflows.uow`; only that module
may call ``commit()``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "workflows" / "uow.py"}


def commits_outside_the_unit_of_work() -> list[str]:
    found = []
    for package in ("workflows", "exports"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in ALLOWED:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "commit"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_action_commits_by_itself() -> None:
    assert commits_outside_the_unit_of_work() == []


def test_the_scan_finds_a_commit(tmp_path: Path) -> None:
    # The scan is not vacuous: the same walk flags a commit in a module.
    tree = ast.parse("def act():\n    db.session.commit()\n")
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "commit"
    ]
    assert len(calls) == 1
