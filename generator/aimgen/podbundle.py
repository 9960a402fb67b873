"""The aimgen bundle: a zipapp of the modules pods run (aimgen.podmain), shipped in a ConfigMap and run with the
engine image's Python (`python3 /opt/aimgen/aimgen.pyz cache prefetch ...`).

It is the same code as the CLI's (leases, digest checks, progress, hostile-Hub checks), not a second
implementation. Built deterministically (sorted names, fixed timestamps) so `aimgen render` and the chart's
files/aimgen.pyz.b64 (written by `aimgen chart sync`) hold the same bytes.
"""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import aimgen

CONFIGMAP_KEY = "aimgen.pyz"
MOUNT_PATH = "/opt/aimgen"
ENTRY = f"{MOUNT_PATH}/{CONFIGMAP_KEY}"
# What podmain imports, and nothing that needs a package the engine image lacks (Typer, jsonschema, yaml).
MODULES = ("__init__.py", "constants.py", "console.py", "errors.py", "findings.py", "podmain.py", "secrets.py",
           "launch/endpoint.py", "cache/*.py")
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MAIN = b"from aimgen.podmain import main\n\nmain()\n"


def _sources() -> list[tuple[str, bytes]]:
    root = Path(aimgen.__file__).parent
    found: dict[str, bytes] = {}
    for pattern in MODULES:
        for path in sorted(root.glob(pattern)):
            found[f"aimgen/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    found.setdefault("aimgen/launch/__init__.py", b"")  # a namespace package in the tree; zipimport wants a file
    return sorted(found.items())


def build() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in [("__main__.py", _MAIN), *_sources()]:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def build_b64() -> str:
    """The bundle as a ConfigMap binaryData value (what the chart keeps in files/aimgen.pyz.b64)."""
    return base64.b64encode(build()).decode()
