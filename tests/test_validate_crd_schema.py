"""CRD -> strict JSON Schema conversion, the lazy index and its disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimgen.errors import EnvironmentProblem
from aimgen.paths import shared_dir
from aimgen.validate import crd_schema
from aimgen.validate.crd_schema import CrdIndex, convert_schema, resource_schema, scan_file, split_documents, validator_class

KSERVE_CRDS = shared_dir() / "kserve" / "v0.20.0" / "crds"
ISVC_CRD = KSERVE_CRDS / "serving.kserve.io_inferenceservices.yaml"


def errors(schema: dict, instance: object) -> list[str]:
    return sorted(e.message for e in validator_class()(schema).iter_errors(instance))


def test_objects_with_properties_reject_unknown_fields():
    schema = convert_schema({"type": "object", "properties": {"a": {"type": "string"}}})
    assert schema["additionalProperties"] is False
    assert errors(schema, {"a": "x"}) == []
    assert errors(schema, {"a": "x", "b": 1})


def test_preserve_unknown_fields_keeps_objects_open():
    schema = convert_schema(
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {"type": "string"}}}
    )
    assert "additionalProperties" not in schema
    assert errors(schema, {"a": "x", "anything": {"goes": 1}}) == []


def test_maps_keep_their_value_schema():
    schema = convert_schema({"type": "object", "additionalProperties": {"type": "string"}})
    assert errors(schema, {"k": "v"}) == []
    assert errors(schema, {"k": 1})


def test_int_or_string_accepts_both_and_nothing_else():
    node = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True,
            "pattern": "^[0-9]+%?$"}
    schema = convert_schema(node)
    assert schema["type"] == ["integer", "string"] and "anyOf" not in schema
    assert errors(schema, 3) == [] and errors(schema, "50%") == []
    assert errors(schema, [1]) and errors(schema, "fifty")
    # without the anyOf a hand-written CRD may carry only the extension
    assert convert_schema({"x-kubernetes-int-or-string": True})["type"] == ["integer", "string"]


def test_nullable_allows_null_only_when_declared():
    assert errors(convert_schema({"type": "string", "nullable": True}), None) == []
    assert errors(convert_schema({"type": "string"}), None)
    enum = convert_schema({"type": "string", "enum": ["a"], "nullable": True})
    assert errors(enum, None) == [] and errors(enum, "b")


def test_integer_formats_become_bounds():
    int32 = convert_schema({"type": "integer", "format": "int32"})
    assert errors(int32, 2**31 - 1) == [] and errors(int32, 2**31)
    int64 = convert_schema({"type": "integer", "format": "int64", "minimum": 0})
    assert int64["minimum"] == 0 and int64["maximum"] == 2**63 - 1
    assert errors(int64, -1)


def test_openapi3_boolean_exclusive_minimum():
    schema = convert_schema({"type": "number", "minimum": 0, "exclusiveMinimum": True})
    assert errors(schema, 0) and errors(schema, 0.5) == []


def test_embedded_resource_implies_apiversion_kind_metadata():
    schema = convert_schema(
        {"type": "object", "x-kubernetes-embedded-resource": True, "x-kubernetes-preserve-unknown-fields": True}
    )
    assert errors(schema, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}) == []
    assert errors(schema, {"kind": "Pod"})  # apiVersion is required
    assert errors(schema, {"apiVersion": "v1", "kind": "Pod", "metadata": {"nmae": "p"}})


def test_list_types_set_and_map():
    set_schema = convert_schema({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"})
    assert errors(set_schema, ["a", "b"]) == [] and errors(set_schema, ["a", "a"])
    map_schema = convert_schema(
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
            "items": {
                "type": "object",
                "properties": {"containerPort": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}},
            },
        }
    )
    assert errors(map_schema, [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]) == []
    # the default fills the missing key, as the API server does before checking uniqueness
    assert errors(map_schema, [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}])


def test_resource_schema_checks_apiversion_kind_and_objectmeta():
    openapi = {"type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                 "metadata": {"type": "object"}, "spec": {"type": "object"}}}
    schema = resource_schema(openapi, "example.com", "v1", "Widget")
    good = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}}}
    assert errors(schema, good) == []
    assert errors(schema, {**good, "apiVersion": "example.com/v2"})
    assert errors(schema, {**good, "kind": "Gadget"})
    assert errors(schema, {**good, "metadata": {"name": "w", "labels": {"a": 1}}})
    assert errors(schema, {**good, "metadata": {"name": "w", "annotation": {}}})
    assert errors(schema, {"apiVersion": "example.com/v1", "kind": "Widget"})  # metadata required


def test_split_documents_only_at_separator_lines():
    assert split_documents("---\na: 1\n---  # two\nb: 2\n") == ["", "a: 1", "b: 2\n"]
    assert split_documents("a: |\n  ---x\n") == ["a: |\n  ---x\n"]


def test_header_scan_reads_group_and_kind_without_the_schema():
    text = ISVC_CRD.read_text(encoding="utf-8")
    assert scan_file(text) == [("serving.kserve.io", "InferenceService")]
    assert scan_file("apiVersion: v1\nkind: ConfigMap\n") == []
    assert scan_file("{{ if .Values.x }}\nkind: [\n") == []  # templates in a CRD directory are skipped


def test_index_is_lazy_and_lookup_finds_served_versions(monkeypatch, tmp_path):
    monkeypatch.setenv(crd_schema.CACHE_ENV, str(tmp_path / "cache"))
    parsed: list[Path] = []
    real = crd_schema.load_crd_file
    monkeypatch.setattr(crd_schema, "load_crd_file", lambda p: parsed.append(p) or real(p))
    index = CrdIndex.build([KSERVE_CRDS])
    assert parsed == []  # building the index parses no schema
    assert "serving.kserve.io/InferenceService" in index.kinds()
    found = index.lookup("serving.kserve.io/v1alpha1", "ServingRuntime")
    assert found is not None and found.schema is not None
    assert parsed == [KSERVE_CRDS / "serving.kserve.io_servingruntimes.yaml"]
    unserved = index.lookup("serving.kserve.io/v1alpha1", "InferenceService")
    assert unserved is not None and unserved.schema is None and "served: v1beta1" in unserved.problem
    assert index.lookup("serving.kserve.io/v1beta1", "Nope") is None


def test_disk_cache_is_written_reused_and_survives_corruption(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    monkeypatch.setenv(crd_schema.CACHE_ENV, str(cache))
    monkeypatch.setattr(crd_schema, "_CONVERTED", {})
    crd = KSERVE_CRDS / "serving.kserve.io_localmodelnodes.yaml"
    first = crd_schema.load_crd_file(crd)
    files = list(cache.glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text()) == first
    monkeypatch.setattr(crd_schema, "_CONVERTED", {})
    files[0].write_text("{not json")
    assert crd_schema.load_crd_file(crd) == first  # rebuilt, not an error
    assert json.loads(files[0].read_text()) == first


def test_cache_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(crd_schema.CACHE_ENV, "off")
    assert crd_schema.cache_dir() is None


def test_missing_crd_directory_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match="does not exist"):
        CrdIndex.build([tmp_path / "nope"])


def test_first_directory_wins_for_the_same_kind(tmp_path):
    copy = tmp_path / "mine"
    copy.mkdir()
    (copy / "isvc.yaml").write_bytes(ISVC_CRD.read_bytes())
    index = CrdIndex.build([copy, KSERVE_CRDS])
    assert index.refs[("serving.kserve.io", "InferenceService")].file == copy / "isvc.yaml"
