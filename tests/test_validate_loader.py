"""load_yaml_documents: one-line syntax errors with line numbers, Kubernetes-like scalars."""

from __future__ import annotations

import pytest

from aimgen.errors import InvalidInput
from aimgen.validate.documents import load_yaml_documents


def error_line(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        load_yaml_documents(text, "m.yaml")
    line = caught.value.line()
    assert "\n" not in line
    return line


def test_documents_are_mappings_and_empty_ones_are_skipped():
    assert load_yaml_documents("---\na: 1\n---\n---\nb: 2\n", "m.yaml") == [{"a": 1}, {"b": 2}]
    assert load_yaml_documents("", "m.yaml") == []


def test_syntax_error_is_one_line_with_line_and_column():
    line = error_line("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n data: {x: 1}\n")
    assert line.startswith("m.yaml: line 5, column 2: YAML syntax error:")


def test_duplicate_keys_are_errors_like_strict_decoding():
    assert error_line("a: 1\nb: 2\na: 3\n") == "m.yaml: line 3, column 1: YAML syntax error: duplicate key 'a' (first at line 1)"
    assert "duplicate key 'x'" in error_line("m: {x: 1, x: 2}\n")


def test_merge_keys_may_override_without_being_duplicates():
    docs = load_yaml_documents("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n", "m.yaml")
    assert docs[0]["d"] == {"x": 3, "y": 2}


def test_non_mapping_document_is_rejected():
    assert "document 2 is a list" in error_line("a: 1\n---\n- x\n")


def test_timestamps_stay_strings_as_in_json():
    (doc,) = load_yaml_documents("metadata:\n  creationTimestamp: 2024-05-01T10:00:00Z\n", "m.yaml")
    assert doc["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"


def test_bare_equals_sign_is_a_string():
    assert load_yaml_documents("op: =\n", "m.yaml") == [{"op": "="}]
