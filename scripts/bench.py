"""`make bench`: run every bench/<area>.py (each in its own process, as a user would) and print their lines."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    failed = []
    only = set(sys.argv[1:])
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.name.startswith("_") or (only and path.stem not in only):
            continue
        print(f"== {path.stem} ==", flush=True)
        started = time.perf_counter()
        # A broken benchmark must not hide the others: report it and go on.
        if subprocess.run([sys.executable, str(path)], cwd=ROOT).returncode != 0:
            failed.append(path.stem)
            print(f"  FAILED: bench/{path.name}", flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
