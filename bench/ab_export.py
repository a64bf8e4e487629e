"""A/B of the Word export: another checkout's ``exports`` package against this one's.

    .venv/bin/python bench/ab_export.py OTHER_ROOT [ROUNDS]

``OTHER_ROOT`` holds the other ``exports/`` (e.g. ``git archive main exports | tar -x -C
/tmp/main``). Each round runs one process with OTHER's package and one with this checkout's,
in turns; each process builds the plain 300-section export and its redline (60 sections
changed, as in ``bench_export.py``) in turns, one warm-up and three timed builds each, and
reports their CPU times (process). The figures: least and median CPU time per build over all
rounds, and redline / plain. The redlines' ``word/document.xml`` of both must be the same.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

WORKER = """
import hashlib, io, json, sys, time, zipfile
# The editable install's finder would map "exports" to this checkout whatever the path says.
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
import exports
assert exports.__file__.startswith(sys.argv[1]), exports.__file__
import bench_export
from exports.builder import build_document
plain = bench_export.paper(bench_export.SECTIONS)
changed = bench_export.redline(plain)
cpu = {"plain": [], "redline": []}
doc = build_document(changed)
build_document(plain)
for _ in range(3):
    for name, data in (("plain", plain), ("redline", changed)):
        started = time.process_time()
        build_document(data)
        cpu[name].append(time.process_time() - started)
part = zipfile.ZipFile(io.BytesIO(doc)).read("word/document.xml")
print(json.dumps({"cpu": cpu, "document": hashlib.sha256(part).hexdigest()}))
"""


def run(root: Path) -> dict[str, object]:
    """Run the worker with ``root``'s exports package first on the path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(ROOT), str(HERE)]))
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(root)],
        env=env,
        cwd=HERE,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    cpu: dict[str, dict[str, list[float]]] = {
        "A (other)": {"plain": [], "redline": []},
        "B (this)": {"plain": [], "redline": []},
    }
    documents: dict[str, set[str]] = {name: set() for name in cpu}
    for _ in range(rounds):
        for name, root in (("A (other)", other), ("B (this)", ROOT)):
            result = run(root)
            for job, times in result["cpu"].items():  # type: ignore[attr-defined]
                cpu[name][job] += times
            documents[name].add(str(result["document"]))
    same = documents["A (other)"] == documents["B (this)"] and len(documents["B (this)"]) == 1
    print(f"  redline word/document.xml, A and B: {'identical' if same else 'DIFFERENT'}")
    for name, jobs in cpu.items():
        plain, tracked = jobs["plain"], jobs["redline"]
        print(
            f"  {name:<10} plain CPU min {min(plain) * 1000:4.0f} / median "
            f"{statistics.median(plain) * 1000:4.0f} ms, redline min {min(tracked) * 1000:4.0f} / "
            f"median {statistics.median(tracked) * 1000:4.0f} ms: redline / plain min "
            f"×{min(tracked) / min(plain):.2f}, median "
            f"×{statistics.median(tracked) / statistics.median(plain):.2f}"
        )


if __name__ == "__main__":
    main()
