"""`make bench`: run every bench/<area>.py main() and print their lines, side by side per area."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    failed = 0
    only = set(sys.argv[1:])
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.name.startswith("_") or (only and path.stem not in only):
            continue
        print(f"== {path.stem} ==", flush=True)
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            module.main()
        except Exception as exc:  # a broken benchmark must not hide the others
            failed += 1
            print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
