"""validate/apirules.py: the API server's syntax rules, on values it accepts and values it refuses
(examples from k8s.io/apimachinery's validation_test.go and kubernetes' core/networking validation tests)."""

from __future__ import annotations

import pytest

from aimgen.validate import apirules

ACCEPTED = [
    (apirules.host, "llm.example.com"), (apirules.host, "*.example.com"), (apirules.host, "a"),
    (apirules.dns1123_subdomain, "nginx"), (apirules.dns1123_subdomain, "llm-tls.v2"),
    (apirules.dns1123_label, "llm"), (apirules.qualified_name, "amd.com/gpu"), (apirules.qualified_name, "Pool_A"),
    (apirules.label_value, ""), (apirules.label_value, "MI300X_v1.2"), (apirules.label_value, "a" * 63),
    (apirules.quantity, "500Gi"), (apirules.quantity, "0"), (apirules.quantity, "1.5"), (apirules.quantity, "100m"),
    (apirules.quantity, "1e3"), (apirules.secret_key, "token"), (apirules.secret_key, "hf.token_1"),
]
REFUSED = [
    (apirules.host, "http://x.com/"), (apirules.host, "x.com:443"), (apirules.host, "10.0.0.1"),
    (apirules.host, "::1"), (apirules.host, "LLM.example.com"), (apirules.host, "llm.*.example.com"),
    (apirules.host, "*"), (apirules.host, "x" * 254), (apirules.host, "llm.example.com."),
    (apirules.dns1123_subdomain, "Bad Class"), (apirules.dns1123_subdomain, "Bad_Secret"),
    (apirules.dns1123_subdomain, "-x"), (apirules.dns1123_label, "a.b"), (apirules.dns1123_label, "a" * 64),
    (apirules.qualified_name, "bad key!"), (apirules.qualified_name, "/x"), (apirules.qualified_name, "Ex.com/x"),
    (apirules.qualified_name, "a" * 64), (apirules.label_value, "gpu pool"), (apirules.label_value, "a" * 64),
    (apirules.label_value, "-x"), (apirules.quantity, "500GB"), (apirules.quantity, "8Ei"), (apirules.quantity, "1e30"), (apirules.quantity, "-1Gi"),
    (apirules.quantity, ""), (apirules.secret_key, "a/b"), (apirules.secret_key, ".."),
]


@pytest.mark.parametrize("rule,value", ACCEPTED, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_accepted(rule, value):
    assert rule(value) is None


@pytest.mark.parametrize("rule,value", REFUSED, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_refused_with_a_reason(rule, value):
    assert rule(value)


def test_a_claim_of_size_zero_is_refused():
    assert apirules.quantity("0", positive=True) == "must be greater than zero"


@pytest.mark.parametrize("toleration,fields", [
    ({}, ["operator"]),
    ({"key": "amd.com/gpu", "operator": "Exists", "value": "x"}, ["value"]),
    ({"key": "bad key!", "operator": "Exists"}, ["key"]),
    ({"key": "k", "operator": "In"}, ["operator"]),
    ({"key": "k", "value": "two words"}, ["value"]),
    ({"key": "k", "operator": "Exists", "effect": "NoRun"}, ["effect"]),
    ({"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}, ["tolerationSeconds"]),
    ({"operator": "Exists"}, []),
    ({"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, []),
    ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 60}, []),
    ({"key": "k", "value": "v"}, []),
])
def test_tolerations_follow_validate_tolerations(toleration, fields):
    assert [f for f, _ in apirules.toleration(toleration)] == fields


def test_every_shipped_node_pool_passes():
    from chart_support import NODE_POOLS

    from aimgen.catalog.nodepool import api_problems
    from aimgen.loading import load_checked

    for path in NODE_POOLS:
        data, _ = load_checked(path, "node-pool", "node pool")
        assert api_problems(data) == [], path
