"""A/B of the redline path: the redline module of another checkout against this one.

    PYTHONPATH=. .venv/bin/python bench/ab_redline.py OTHER/exports/redline.py [ROUNDS]

Builds the plain 300-section export and its redline (60 sections changed, as in
``bench_export.py``) in turns within one process: plain, redline with OTHER's
``exports.redline``, redline with this checkout's; CPU time (process) of each build. The
builder reaches the module only as ``exports.builder.redline``, so swapping that attribute
swaps the implementation.
"""

from __future__ import annotations

import importlib.util
import io
import statistics
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_export  # noqa: E402

from exports import builder  # noqa: E402
from exports import redline as current  # noqa: E402


def main() -> None:
    spec = importlib.util.spec_from_file_location("other_redline", sys.argv[1])
    assert spec is not None and spec.loader is not None
    other = importlib.util.module_from_spec(spec)
    sys.modules["other_redline"] = other
    spec.loader.exec_module(other)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    plain = bench_export.paper(bench_export.SECTIONS)
    changed = bench_export.redline(plain)
    jobs = {
        "plain": (current, plain),
        "redline A (other)": (other, changed),
        "redline B (this)": (current, changed),
    }
    outputs = {}
    for name, (module, data) in jobs.items():  # warm-up, and the same output from both
        builder.redline = module  # type: ignore[attr-defined]
        outputs[name] = builder.build_document(data)
    parts = {
        name: zipfile.ZipFile(io.BytesIO(outputs[name])).read("word/document.xml")
        for name in ("redline A (other)", "redline B (this)")
    }
    same = len(set(parts.values())) == 1
    print(f"  word/document.xml of the two redlines: {'identical' if same else 'DIFFERENT'}")
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, (module, data) in jobs.items():
            builder.redline = module  # type: ignore[attr-defined]
            started = time.process_time()
            builder.build_document(data)
            cpu[name].append(time.process_time() - started)
    builder.redline = current  # type: ignore[attr-defined]
    for name, got in cpu.items():
        print(f"  {name:<20} CPU min {min(got) * 1000:6.0f} ms   median "
              f"{statistics.median(got) * 1000:6.0f} ms")  # fmt: skip
    for name in ("redline A (other)", "redline B (this)"):
        print(f"  {name} / plain: min ×{min(cpu[name]) / min(cpu['plain']):.2f}   median "
              f"×{statistics.median(cpu[name]) / statistics.median(cpu['plain']):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
