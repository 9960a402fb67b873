"""Validating one InferenceService: cold (parse + convert the 2 MB CRD) vs disk-cached vs warm in-process.

Each cold case runs in a fresh interpreter so nothing is memoised; the schema cache lives in a temp dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "validate" / "valid" / "kserve-vllm.yaml"

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from aimgen.validate.documents import load_yaml_documents, validate_documents
docs = [d for d in load_yaml_documents(open(sys.argv[1]).read(), "bench") if d["kind"] == "InferenceService"]
t1 = time.perf_counter()
assert validate_documents(docs, source="bench") == []
t2 = time.perf_counter()
for _ in range(20):
    validate_documents(docs, source="bench")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "warm": (t3 - t2) / 20}))
"""


def _probe(cache: str) -> dict[str, float]:
    env = {**os.environ, "AIMGEN_SCHEMA_CACHE": cache}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(FIXTURE)], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "crd-schemas")
        no_cache = _probe("off")
        filling = _probe(cache)
        cached = _probe(cache)
    warm = cached["warm"]
    print(f"  first InferenceService, no disk cache  : {no_cache['first'] * 1000:7.0f} ms  ({no_cache['first'] / warm:6.0f}x warm)")
    print(f"  first, filling the disk cache          : {filling['first'] * 1000:7.0f} ms  ({filling['first'] / warm:6.0f}x warm)")
    print(f"  first, disk cache hit (new process)    : {cached['first'] * 1000:7.0f} ms  ({cached['first'] / warm:6.0f}x warm)")
    print(f"  warm, same process (per validation)    : {warm * 1000:7.2f} ms")
    print(f"  import of aimgen.validate.documents    : {cached['import'] * 1000:7.0f} ms")
    print(f"  disk cache speed-up on first use       : {no_cache['first'] / cached['first']:7.1f}x")


if __name__ == "__main__":
    main()
