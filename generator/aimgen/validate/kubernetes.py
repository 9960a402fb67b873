"""Built-in kinds (Deployment, Service, PVC, Job, ...) against the strict schemas kubernetes-validate ships.

We use kubernetes-validate's schema set and its file layout (`v<X.Y.Z>-local-strict/<kind>-<group>-<version>.json`
plus `_definitions.json`), but not its `validate()`: that stops at the first error and re-reads the 1.8 MB
definitions on every call. Here one registry per Kubernetes version and one validator per kind are built
once, and every error is reported.

One addition to the upstream schemas: resource quantities ("8Gi", "500m") get the pattern the API server's
parser accepts, so "8GB" fails here as it would on apply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from aimgen.errors import EnvironmentProblem, UsageError
from aimgen.validate.messages import QUANTITY_PATTERN

_QUANTITY_DEF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INSTALL_HINT = "pip install 'aimgen[validate]' (kubernetes-validate)"


def _package() -> Any:
    try:
        import kubernetes_validate.utils as kv
    except ImportError:
        message = f"kubernetes-validate is not installed; built-in kinds cannot be checked: {_INSTALL_HINT}"
        raise EnvironmentProblem(message) from None
    return kv


def _schema_root() -> Path:
    from importlib.resources import files

    return Path(str(files("kubernetes_validate") / "kubernetes-json-schema"))


def supported_versions() -> list[str]:
    """Kubernetes versions kubernetes-validate ships schemas for, oldest first, as 'X.Y'."""
    return [".".join(v.split(".")[:2]) for v in _package().all_versions()]


def resolve_kube_version(requested: str | None) -> str:
    """'X.Y' for a requested version ('1.31', 'v1.31.2'); the newest shipped one when None."""
    versions = supported_versions()
    if not requested:
        return versions[-1]
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", requested.strip())
    wanted = f"{match.group(1)}.{match.group(2)}" if match else None
    if wanted not in versions:
        raise UsageError(
            f"--kube-version {requested!r}: kubernetes-validate has schemas for {versions[0]} to {versions[-1]}; "
            "give one of those as X.Y"
        )
    return wanted


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def is_builtin_group(group: str) -> bool:
    """Core ("" ), single-word groups (apps, batch, policy, autoscaling) and *.k8s.io hold the built-in APIs."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


@dataclass
class BuiltinSchemas:
    """Validators for one Kubernetes version's built-in kinds."""

    kube_version: str  # X.Y
    directory: Path
    _registry: Any = None
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict)
    _gvks: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def _file(self, api_version: str, kind: str) -> Path:
        group, version = split_api_version(api_version)
        prefix = group.split(".")[0]
        name = f"{kind.lower()}-{prefix}-{version}" if prefix else f"{kind.lower()}-{version}"
        return self.directory / f"{name}.json"

    def _load_registry(self) -> Any:
        if self._registry is None:
            from referencing import Registry, Resource

            definitions = json.loads((self.directory / "_definitions.json").read_text(encoding="utf-8"))
            definitions["$defs"][_QUANTITY_DEF] = {
                "anyOf": [{"type": "string", "pattern": QUANTITY_PATTERN}, {"type": "number"}]
            }
            self._registry = Resource.from_contents(definitions) @ Registry()
        return self._registry

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A validator for this built-in apiVersion/kind, or None if this Kubernetes version has no such API."""
        key = (api_version, kind)
        if key in self._validators:
            return self._validators[key]
        path = self._file(api_version, kind)
        validator = None
        if path.is_file():
            schema = json.loads(path.read_text(encoding="utf-8"))
            group, version = split_api_version(api_version)
            gvks = schema.get("x-kubernetes-group-version-kind") or []
            # The file name keeps only the group's first word: make sure e.g. apps.example.com/v1 is not apps/v1.
            if any(g.get("group") == group and g.get("version") == version and g.get("kind") == kind for g in gvks):
                from jsonschema import Draft202012Validator

                validator = Draft202012Validator(schema, registry=self._load_registry())
        self._validators[key] = validator
        return validator

    def api_versions_of(self, kind: str) -> list[str]:
        """Every apiVersion this Kubernetes version serves `kind` under (for 'did you mean')."""
        found = set()
        for path in self.directory.glob(f"{kind.lower()}-*.json"):
            try:
                gvks = json.loads(path.read_text(encoding="utf-8")).get("x-kubernetes-group-version-kind") or []
            except (OSError, ValueError):
                continue
            for g in gvks:
                if g.get("kind") == kind:
                    found.add(f"{g['group']}/{g['version']}" if g.get("group") else g["version"])
        return sorted(found)


@lru_cache(maxsize=None)
def builtin_schemas(kube_version: str | None = None) -> BuiltinSchemas:
    """The built-in schema set for a Kubernetes version (X.Y; None = newest shipped), loaded once per process."""
    resolved = resolve_kube_version(kube_version)
    full = next(v for v in _package().all_versions() if ".".join(v.split(".")[:2]) == resolved)
    directory = _schema_root() / f"v{full}-local-strict"
    if not directory.is_dir():
        raise EnvironmentProblem(f"kubernetes-validate has no strict schemas for {full} in {directory}; {_INSTALL_HINT}")
    return BuiltinSchemas(kube_version=resolved, directory=directory)
