"""CustomResourceDefinitions as strict JSON Schemas (draft 2020-12), indexed by (apiVersion, kind).

What the API server does with a custom resource, restated for offline checks:
- unknown fields: pruned silently, or rejected under `kubectl apply --validate=strict` (the default since 1.27).
  We reject them: `additionalProperties: false` on every object schema with `properties`, except under
  `x-kubernetes-preserve-unknown-fields: true`.
- `x-kubernetes-int-or-string` -> integer or string; `nullable: true` -> null allowed (otherwise null is an error
  here; the server would drop it, which in a rendered manifest is always a bug).
- `x-kubernetes-embedded-resource` -> apiVersion, kind (required) and metadata (ObjectMeta) are implied.
- `format: int32/int64` -> range bounds; `x-kubernetes-list-type: set` -> unique items; `map` -> unique keys.
- apiVersion/kind must match; metadata is checked as ObjectMeta (names/labels syntax: objectmeta.py).
Not evaluated: CEL rules (`x-kubernetes-validations`), string formats other than integer widths, defaults.
Left open: `type: object` with neither properties nor additionalProperties (a few embedded `metadata` fields
in KServe's volume templates; the server prunes their content rather than rejecting it).

Loading is lazy: a cheap header parse finds each file's group and kind; a file's 2 MB schema is only parsed
and converted when a document needs it, once per process, and the converted form is cached on disk keyed by
the file's content hash and this module's source (so a change to the conversion invalidates the cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import yaml

from aimgen.errors import EnvironmentProblem

CRD_KIND = "CustomResourceDefinition"
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
LIST_MAP_KEYWORD = "x-aimgen-list-map-keys"
CACHE_ENV = "AIMGEN_SCHEMA_CACHE"  # a directory, or "off"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# ObjectMeta as a client may send it (status-like fields included: `kubectl get -o yaml` output is valid input).
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "uid": {"type": "string"},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "selfLink": {"type": "string"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": "string"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}

# Value keywords OpenAPI v3 and JSON Schema spell the same way.
_PASSTHROUGH = (
    "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "multipleOf", "minItems", "maxItems",
    "uniqueItems", "minProperties", "maxProperties", "required",
)


# --- conversion (pure) ---------------------------------------------------------------------------------------


def convert_schema(node: dict[str, Any]) -> dict[str, Any]:
    """One OpenAPI v3 (structural) schema node -> strict JSON Schema."""
    out: dict[str, Any] = {k: node[k] for k in _PASSTHROUGH if k in node}
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = node.get("x-kubernetes-embedded-resource") is True
    any_of = node.get("anyOf")

    if node.get("x-kubernetes-int-or-string") is True:
        types = ["integer", "string"]
        if any_of and all(isinstance(s, dict) and set(s) <= {"type"} for s in any_of):
            any_of = None  # the usual [{type: integer}, {type: string}] says nothing more than `types`
    elif isinstance(node.get("type"), str):
        types = [node["type"]]
    else:
        types = []
    if embedded and not types:
        types = ["object"]
    if node.get("nullable") is True and types:
        types.append("null")
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if types:
        out["type"] = types[0] if len(types) == 1 else types

    for key in ("exclusiveMinimum", "exclusiveMaximum"):  # OpenAPI 3.0: a boolean modifying minimum/maximum
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        if node.get(key) is True and bound in out:
            out[key] = out.pop(bound)
        elif isinstance(node.get(key), (int, float)) and not isinstance(node.get(key), bool):
            out[key] = node[key]

    if "integer" in types and node.get("format") in ("int32", "int64"):
        low, high = INT32 if node["format"] == "int32" else INT64
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)

    properties = {name: convert_schema(sub) for name, sub in (node.get("properties") or {}).items()}
    if embedded:
        properties.setdefault("apiVersion", {"type": "string", "minLength": 1})
        properties.setdefault("kind", {"type": "string", "minLength": 1})
        properties["metadata"] = OBJECT_META
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})
    if properties:
        out["properties"] = properties

    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = convert_schema(extra)
    elif isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif properties and not preserve:
        out["additionalProperties"] = False

    if isinstance(node.get("items"), dict):
        out["items"] = convert_schema(node["items"])
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "set":
        out["uniqueItems"] = True
    elif list_type == "map" and node.get("x-kubernetes-list-map-keys"):
        item_props = (node.get("items") or {}).get("properties") or {}
        keys = list(node["x-kubernetes-list-map-keys"])
        defaults = {k: item_props[k]["default"] for k in keys if "default" in item_props.get(k, {})}
        out[LIST_MAP_KEYWORD] = {"keys": keys, "defaults": defaults}

    if any_of:
        out["anyOf"] = [convert_schema(s) for s in any_of]
    for key in ("allOf", "oneOf"):
        if node.get(key):
            out[key] = [convert_schema(s) for s in node[key]]
    if isinstance(node.get("not"), dict):
        out["not"] = convert_schema(node["not"])
    return out


def resource_schema(openapi: dict[str, Any], group: str, version: str, kind: str) -> dict[str, Any]:
    """The whole-object schema for one served version: the CRD's own plus apiVersion/kind/metadata rules."""
    schema = convert_schema(openapi)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"const": f"{group}/{version}"}
    properties["kind"] = {"const": kind}
    crd_meta = openapi.get("properties", {}).get("metadata", {})
    # A CRD may constrain metadata.name (e.g. maxLength); keep that on top of ObjectMeta.
    properties["metadata"] = (
        {"allOf": [OBJECT_META, {"properties": convert_schema(crd_meta)["properties"]}]}
        if crd_meta.get("properties")
        else OBJECT_META
    )
    schema["type"] = "object"
    schema["additionalProperties"] = False
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def crd_versions(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """version name -> {served, deprecated, schema}; handles v1 (per-version schema) and v1beta1 (spec.validation)."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    shared_schema = ((spec.get("validation") or {}).get("openAPIV3Schema")) or {}
    versions = spec.get("versions") or ([{"name": spec["version"], "served": True}] if spec.get("version") else [])
    out = {}
    for version in versions:
        openapi = ((version.get("schema") or {}).get("openAPIV3Schema")) or shared_schema
        out[version["name"]] = {
            "served": bool(version.get("served", True)),
            "deprecated": bool(version.get("deprecated", False)),
            "schema": resource_schema(openapi, group, version["name"], kind),
        }
    return out


# --- validator ----------------------------------------------------------------------------------------------


def _list_map_keys(validator: Any, spec: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not isinstance(instance, list):
        return
    keys, defaults = spec["keys"], spec.get("defaults", {})
    first: dict[str, int] = {}
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        identity = {k: item.get(k, defaults.get(k)) for k in keys}
        token = json.dumps(identity, sort_keys=True, default=str)
        if token in first:
            shown = ", ".join(f"{k}={v!r}" for k, v in identity.items())
            yield ValidationError(
                f"duplicate entry {shown} (same as [{first[token]}]); entries are keyed by {', '.join(keys)}",
                path=[index],
            )
        else:
            first[token] = index


_VALIDATOR_CLASS: Any = None


def validator_class() -> Any:
    """Draft 2020-12 plus the list-map uniqueness keyword; built once (jsonschema imports are not free)."""
    global _VALIDATOR_CLASS
    if _VALIDATOR_CLASS is None:
        from jsonschema import validators

        base = validators.Draft202012Validator
        _VALIDATOR_CLASS = validators.extend(base, {LIST_MAP_KEYWORD: _list_map_keys})
    return _VALIDATOR_CLASS


# --- files, cache and index ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrdRef:
    group: str
    kind: str
    file: Path


@dataclass
class Lookup:
    """What the index knows about one (apiVersion, kind)."""

    schema: dict[str, Any] | None = None
    file: Path | None = None
    problem: str = ""  # set when the kind is known but this version is not usable
    deprecated: bool = False


_SEPARATOR_REST = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")


def split_documents(text: str) -> list[str]:
    """Split a YAML stream at '---' lines. str.find, not a multiline regex: ten times faster on 2 MB CRDs."""
    docs, start, pos = [], 0, 0
    if text.startswith("---"):
        text = "\n" + text
    while (pos := text.find("\n---", pos)) != -1:
        rest = _SEPARATOR_REST.match(text, pos + 4)
        if rest:
            docs.append(text[start:pos])
            start = rest.end()
        pos += 4
    docs.append(text[start:])
    return docs


_SPEC_VERSIONS = re.compile(r"^  versions:", re.M)


def _header(doc_text: str) -> tuple[str, str] | None:
    """(group, kind) from the part of a CRD document before its schemas, or None to force a full parse.

    Generated CRDs (controller-gen, kubebuilder) put spec.group and spec.names before spec.versions, which
    holds megabytes of schema; parsing only the head keeps startup fast. The full parse confirms it later.
    """
    cut = _SPEC_VERSIONS.search(doc_text)
    head = doc_text[: cut.start()] if cut else doc_text
    if cut is None and len(doc_text) > 200_000:
        return None
    try:
        data = yaml.load(head, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or data.get("kind") != CRD_KIND:
        return ("", "")  # not a CRD at all
    spec = data.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    if isinstance(group, str) and isinstance(kind, str):
        return group, kind
    return None


def scan_file(text: str) -> list[tuple[str, str]] | None:
    """(group, kind) of every CRD in a file's text, or None when the quick header parse cannot tell."""
    if CRD_KIND not in text:
        return []  # other YAML in a CRD directory (values, templates) is not ours to judge
    found = []
    for doc_text in split_documents(text):
        if not doc_text.strip():
            continue
        head = _header(doc_text)
        if head is None:
            return None
        if head[0]:
            found.append(head)
    return found


def cache_dir() -> Path | None:
    env = os.environ.get(CACHE_ENV)
    if env is not None and env.lower() in ("", "0", "off", "no", "false"):
        return None
    user = os.getuid() if hasattr(os, "getuid") else "user"
    root = Path(env) if env else Path(tempfile.gettempdir()) / f"aimgen-{user}" / "crd-schemas"
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if hasattr(os, "getuid") and root.stat().st_uid != os.getuid():
            return None  # someone else's directory in a shared /tmp: do not trust or write it
    except OSError:
        return None
    return root


_CODE_ID = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _cache_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32] + "-" + _CODE_ID


def _read_cache(root: Path | None, key: str) -> dict[str, Any] | None:
    if root is None:
        return None
    try:
        return json.loads((root / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cache(root: Path | None, key: str, value: dict[str, Any]) -> None:
    if root is None:
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{key}.", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(value, separators=(",", ":")))  # dumps: the C encoder; dump() is pure Python
        os.replace(tmp, root / f"{key}.json")
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)  # a cache that cannot be written is only slower, never an error


# Converted CRD files, shared by every index in this process: {content key: {"Group/Kind": versions}}.
_CONVERTED: dict[str, dict[str, Any]] = {}


def load_crd_file(path: Path) -> dict[str, dict[str, Any]]:
    """{"group/Kind": {version: {served, deprecated, schema}}} for every CRD in the file (memoised, disk-cached)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read CRD file: {exc.strerror}", file=str(path)) from None
    key = _cache_key(data)
    if key in _CONVERTED:
        return _CONVERTED[key]
    root = cache_dir()
    converted = _read_cache(root, key)
    if converted is None:
        try:
            docs = [d for d in yaml.load_all(data, Loader=_Loader) if isinstance(d, dict)]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            message = f"{where}CRD file is not valid YAML; re-fetch it (make shared)"
            raise EnvironmentProblem(message, file=str(path)) from None
        converted = {}
        for doc in docs:
            if doc.get("kind") != CRD_KIND:
                continue
            spec = doc.get("spec") or {}
            converted[f"{spec.get('group')}/{(spec.get('names') or {}).get('kind')}"] = crd_versions(doc)
        _write_cache(root, key, converted)
    _CONVERTED[key] = converted
    return converted


@dataclass
class CrdIndex:
    """CRDs found in some directories (searched recursively for *.yaml / *.yml), looked up by (apiVersion, kind)."""

    dirs: tuple[Path, ...]
    refs: dict[tuple[str, str], CrdRef] = field(default_factory=dict)
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def build(cls, dirs: Sequence[Path | str]) -> "CrdIndex":
        paths = tuple(Path(d) for d in dirs)
        for d in paths:
            if not d.is_dir():
                raise EnvironmentProblem(
                    f"CRD directory {d} does not exist; run `make shared` or pass --crds DIR (or set AIMGEN_CRD_DIR)"
                )
        index = cls(dirs=paths)
        for d in paths:
            for file in sorted({*d.rglob("*.yaml"), *d.rglob("*.yml")}):
                index._add_file(file)
        return index

    def _add_file(self, file: Path) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return  # not a readable YAML text file: cannot hold a CRD we could use
        heads = scan_file(text)
        if heads is None:
            heads = [tuple(k.split("/", 1)) for k in load_crd_file(file)]
        for group, kind in heads:
            self.refs.setdefault((group, kind), CrdRef(group, kind, file))  # first directory wins

    def kinds(self) -> list[str]:
        return sorted(f"{g}/{k}" for g, k in self.refs)

    def has_group(self, group: str) -> bool:
        return any(g == group for g, _ in self.refs)

    def lookup(self, api_version: str, kind: str) -> Lookup | None:
        """None if no CRD defines this group and kind; otherwise the schema, or why this version cannot be used."""
        group, _, version = api_version.rpartition("/")
        ref = self.refs.get((group, kind))
        if ref is None:
            return None
        versions = load_crd_file(ref.file).get(f"{group}/{kind}")
        if versions is None:
            return Lookup(file=ref.file, problem=f"{ref.file} does not define {group}/{kind} after all")
        served = sorted(v for v, info in versions.items() if info["served"])
        info = versions.get(version)
        if info is None or not info["served"]:
            return Lookup(
                file=ref.file,
                problem=f"{api_version} {kind} is not served by the CRD in {ref.file}; "
                f"served: {', '.join(served) or 'none'}",
            )
        return Lookup(schema=info["schema"], file=ref.file, deprecated=info["deprecated"])

    def validator(self, api_version: str, kind: str) -> tuple[Any, Lookup] | tuple[None, Lookup | None]:
        found = self.lookup(api_version, kind)
        if found is None or found.schema is None:
            return None, found
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = validator_class()(found.schema)
        return self._validators[key], found


_INDEXES: dict[tuple[str, ...], CrdIndex] = {}


def crd_index(dirs: Sequence[Path | str]) -> CrdIndex:
    """The index for these directories, built once per process."""
    key = tuple(str(Path(d).resolve()) for d in dirs)
    if key not in _INDEXES:
        _INDEXES[key] = CrdIndex.build(dirs)
    return _INDEXES[key]
