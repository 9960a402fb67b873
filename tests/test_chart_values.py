"""values.yaml and values.schema.json: in step key for key, strict everywhere, self-contained, enums current,
and every value used by some template (changing it changes what Helm renders)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from chart_support import CHART, CI_VALUES, Case, in_parallel, python_side, template

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES_TEXT = (CHART / "values.yaml").read_text()
# Optional keys are shown commented out as `# key: example` (doc comments never start with a lower-case word
# followed by a colon).
COMMENTED_KEY = re.compile(r"^(\s*)# ([a-z][A-Za-z0-9]*):( .*)?$")
# Helm passes `global` to every chart; it is Helm's, not ours, so values.yaml does not show it.
HELM_KEYS = {"global"}


def values_with_optional_keys() -> dict:
    lines = []
    for line in VALUES_TEXT.splitlines():
        m = COMMENTED_KEY.match(line)
        lines.append(f"{m.group(1)}{m.group(2)}:{m.group(3) or ''}" if m else line)
    return yaml.safe_load("\n".join(lines))


def merged(defaults, override):
    """Helm's coalescing of a values file over the chart's defaults: maps merge, everything else replaces."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        return {k: merged(defaults.get(k), override[k]) if k in override else v for k, v in defaults.items()} | {
            k: v for k, v in override.items() if k not in defaults}
    return override


def resolve(node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/definitions/"), f"only local references: {ref}"
        node = SCHEMA["definitions"][ref.rsplit("/", 1)[1]]
    return node


def schema_paths(node: dict, prefix: str = "") -> set[str]:
    """Dotted paths of every property the schema defines on objects with fixed properties (not maps, not lists)."""
    node = resolve(node)
    out: set[str] = set()
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        if path in HELM_KEYS:
            continue
        out.add(path)
        out |= schema_paths(sub, f"{path}.")
    return out


def value_paths(value, prefix: str = "", schema: dict | None = None) -> set[str]:
    node = resolve(schema if schema is not None else SCHEMA)
    out: set[str] = set()
    if isinstance(value, dict) and "properties" in node:
        for key, sub in value.items():
            path = f"{prefix}{key}"
            out.add(path)
            out |= value_paths(sub, f"{path}.", node["properties"].get(key, {}))
    return out


def leaf_paths(value, prefix: str = "", schema: dict | None = None) -> set[str]:
    node = resolve(schema if schema is not None else SCHEMA)
    if isinstance(value, dict) and "properties" in node:
        out: set[str] = set()
        for key, sub in value.items():
            out |= leaf_paths(sub, f"{prefix}{key}.", node["properties"].get(key, {}))
        return out
    return {prefix.rstrip(".")}


def walk(node, path="#"):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def test_values_yaml_and_schema_name_the_same_keys():
    values = values_with_optional_keys()
    in_values, in_schema = value_paths(values), schema_paths(SCHEMA)
    assert in_values - in_schema == set(), "keys in values.yaml missing from values.schema.json"
    assert in_schema - in_values == set(), "keys in values.schema.json missing from values.yaml (show optional ones commented out)"


def test_values_yaml_validates_including_its_commented_examples():
    jsonschema.validate(yaml.safe_load(VALUES_TEXT), SCHEMA)
    jsonschema.validate(values_with_optional_keys(), SCHEMA)
    for ci in CI_VALUES:
        jsonschema.validate(merged(yaml.safe_load(VALUES_TEXT), yaml.safe_load(ci.read_text())), SCHEMA)


def test_every_key_is_documented():
    """A comment above every key, except the first key under its parent; list items are data, not keys."""
    lines = VALUES_TEXT.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(# )?([a-z][A-Za-z0-9]*):", line)
        if not m:
            continue
        indent = len(m.group(1))
        parent = next((p for p in reversed(lines[:i]) if p.strip() and not p.lstrip().startswith("#")
                       and len(p) - len(p.lstrip()) < indent), "")
        if parent.lstrip().startswith("- "):
            continue  # a key inside a list item (e.g. a toleration)
        above = lines[i - 1].strip() if i else ""
        first_child = above == parent.strip() and above.endswith(":")
        assert above.startswith("#") or first_child, f"values.yaml:{i + 1} {line.strip()!r} has no comment above it"


def test_schema_is_strict_and_self_contained():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    for path, node in walk(SCHEMA):
        if isinstance(node, dict) and node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path}: objects we define reject unknown keys"
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            assert node["$ref"].startswith("#/"), f"{path}: remote $ref {node['$ref']!r} (Helm would download it)"
    for name in ("gpuName", "precision", "backend", "metric", "gpuCount"):
        assert SCHEMA["definitions"][name]["enum"], f"definitions.{name}: empty enum (run `aimgen chart sync`)"


def test_generated_chart_files_are_current():
    """files/zero-config/, files/chart.json and the schema's enums are what `aimgen chart sync` writes from recipes/
    and the catalog (`aimgen chart check` fails otherwise)."""
    from aimgen.chart_table import chart_files

    stale = [str(path.relative_to(CHART)) for path, text in chart_files() if path.read_text() != text]
    assert not stale, f"stale generated chart files {stale}: run `aimgen chart sync`"


def test_chart_check_command(cli):
    code, _, err = cli("chart", "check")
    assert code == 0, err


def test_no_plaintext_token_key_validates_anywhere():
    """Wherever a free-form map or string sits, a token-shaped key or value is refused."""
    token = "hf_" + "x" * 36
    bad = [
        {"huggingface": {"token": token}},
        {"hfToken": token},
        {"nodePool": {"nodeSelector": {"example.com/t": token}}},
        {"networkPolicy": {"allowedPodLabels": {"t": token}}},
    ]
    for values in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(values, SCHEMA)


# ---- every value is used: changing it changes the rendered output ----

BASE = {"model": "meta-llama/Llama-3.1-70B-Instruct", "gpu": "mi300x"}
LIST_BASE = {"deployments": [{"name": "qwen", "model": "Qwen/Qwen3-8B", "gpu": "mi300x", "gpus": 1,
                              "precision": "bf16", "backend": "vllm", "metric": "latency"}]}
ON = {
    "cache": {"prefetchJob": True},
    "huggingface": {"tokenSecret": {"name": "hf"}},
    "ingress": {"enabled": True, "host": "llm.example.com", "tls": {"secretName": "tls"}},
    "httpRoute": {"enabled": True, "host": "llm.example.com", "gateway": {"name": "gw"}},
}
MONITORING = {**BASE, "monitoring": {"enabled": True}}


def llmisvc_values(model: tuple, *options: tuple) -> dict:
    """What `aimgen values MODEL --gpu mi300x --api llmisvc ...` writes: llmisvc profiles are compiled, never
    picked from the table."""
    case = Case("values", (model,), gpu="mi300x", options=(("api", "llmisvc"), *options))
    return python_side(case, None).values


LLMISVC = llmisvc_values(("Qwen/Qwen3-8B", None, None, "vllm", "latency", None))
LLMISVC_PD = llmisvc_values(("meta-llama/Llama-3.3-70B-Instruct", None, "fp8", "vllm", "latency", None),
                            ("disaggregate", True))
LOCAL_MODEL = python_side(Case("values", (("Qwen/Qwen3-8B", None, None, "vllm", "latency", None),), gpu="mi300x",
                              options=(("local_model_cache", "/mnt/nvme/models"),)), None).values
AUTOSCALING = {**BASE, "autoscaling": {"enabled": True, "maxReplicas": 4}}
# leaf → (values it is rendered with, value A, value B): A and B must render differently.
CHANGES = {
    "model": (BASE, "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen3-32B"),
    "gpu": (BASE, "mi300x", "mi325x"),
    "gpus": (BASE, 1, 8),
    "precision": (BASE, "bf16", "fp8"),
    "backend": ({"model": "deepseek-ai/DeepSeek-R1", "gpu": "mi300x"}, "vllm", "sglang"),
    "metric": (BASE, "latency", "throughput"),
    "name": (BASE, "first", "second"),
    "features": ({"model": "Qwen/Qwen3.6-35B-A3B", "gpu": "mi300x"}, [], ["reasoning"]),
    "deployments": ({}, LIST_BASE["deployments"], [{**LIST_BASE["deployments"][0], "metric": "throughput"}]),
    "clusterRuntime": (BASE, False, True),
    "nodePool.cpuPerGpu": (BASE, 8, 12),
    "nodePool.memoryGiBPerGpu": (BASE, 64, 96),
    "nodePool.nodeSelector": (BASE, {}, {"example.com/pool": "llm"}),
    "nodePool.matchDeviceIds": (BASE, True, False),
    "nodePool.tolerations": (BASE, [], [{"key": "a", "operator": "Exists"}]),
    "nodePool.priorityClassName": (BASE, "", "high"),
    "cache.enabled": ({**BASE, **ON}, True, False),
    "cache.existingClaim": (BASE, "", "shared"),
    "cache.size": (BASE, "", "900Gi"),
    "cache.storageClass": (BASE, "", "fast"),
    "cache.accessMode": (BASE, "ReadWriteMany", "ReadWriteOnce"),
    "cache.initContainer": (BASE, True, False),
    "cache.prefetchJob": (BASE, False, True),
    "cache.image": (BASE, "", "registry.example.com/aimgen:0.1.0"),
    "imageDigests": (BASE, {}, {"docker.io/vllm/vllm-openai-rocm": "sha256:" + "a" * 64}),
    "storageSecret": (BASE, "", "minio-creds"),
    "localModelCache.enabled": (LOCAL_MODEL, True, False),
    "localModelCache.hostPath": (LOCAL_MODEL, "/mnt/nvme/models", "/var/lib/models"),
    "localModelCache.storageClass": (LOCAL_MODEL, "local-storage", "nvme"),
    "localModelCache.storageLimit": (LOCAL_MODEL, "20Gi", "2Ti"),
    "huggingface.endpoint": (BASE, "", "http://hf-mirror.internal:8080"),
    "huggingface.tokenSecret.name": ({**BASE, **ON}, "", "other"),
    "huggingface.tokenSecret.key": ({**BASE, **ON}, "token", "hf"),
    "networkPolicy.enabled": (BASE, True, False),
    "networkPolicy.allowedNamespaces": (BASE, [], ["ingress-nginx"]),
    "networkPolicy.allowedPodLabels": (BASE, {}, {"role": "client"}),
    "podDisruptionBudget.enabled": (BASE, True, False),
    "ingress.enabled": ({**BASE, **ON}, True, False),
    "ingress.className": ({**BASE, **ON}, "", "nginx"),
    "ingress.host": ({**BASE, **ON}, "a.example.com", "b.example.com"),
    "ingress.tls.secretName": ({**BASE, **ON}, "", "tls2"),
    "httpRoute.enabled": ({**BASE, **ON}, True, False),
    "httpRoute.host": ({**BASE, **ON}, "", "b.example.com"),
    "httpRoute.gateway.name": ({**BASE, **ON}, "gw", "gw2"),
    "httpRoute.gateway.namespace": ({**BASE, **ON}, "", "gateways"),
    "monitoring.enabled": (BASE, False, True),
    "monitoring.scrape": (MONITORING, "podmonitor", "annotations"),
    "monitoring.scrapeInterval": (MONITORING, "30s", "60s"),
    "monitoring.selectorLabels": (MONITORING, {}, {"release": "kube-prometheus-stack"}),
    "monitoring.prometheusNamespace": (MONITORING, "monitoring", "prometheus"),
    "monitoring.dashboard.enabled": (MONITORING, True, False),
    "monitoring.dashboard.labels": (MONITORING, {"grafana_dashboard": "1"}, {"dashboards": "llm"}),
    "monitoring.alerts.enabled": (MONITORING, True, False),
    "monitoring.alerts.ttftP95Seconds": (MONITORING, 2.0, 3.5),
    "monitoring.alerts.kvCacheUsage": (MONITORING, 0.95, 0.9),
    "monitoring.alerts.waitingRequests": (MONITORING, 32, 64),
    "monitoring.alerts.gpuMemoryUsage": (MONITORING, 0.98, 0.9),
    "monitoring.alerts.startupGraceMinutes": (MONITORING, 30, 45),
    "autoscaling.enabled": (BASE, False, True),
    "autoscaling.minReplicas": ({**BASE, "autoscaling": {"maxReplicas": 4}}, 1, 2),
    "autoscaling.maxReplicas": (BASE, 1, 3),
    "autoscaling.prometheusAddress": (AUTOSCALING, "http://prometheus-operated.monitoring.svc:9090", "http://prom:9090"),
    "autoscaling.waitingPerReplica": (AUTOSCALING, 8, 16),
    "autoscaling.kvCachePerReplica": (AUTOSCALING, 0.8, 0.7),
    "autoscaling.scaleUpStabilizationSeconds": (AUTOSCALING, 0, 30),
    "autoscaling.scaleDownStabilizationSeconds": (AUTOSCALING, 600, 300),
    "llmisvc.router": (LLMISVC, "scheduler", "none"),
    "llmisvc.gateway.name": (LLMISVC, "", "gw"),
    "llmisvc.gateway.namespace": ({**LLMISVC, "llmisvc": {"router": "scheduler", "gateway": {"name": "gw"}}}, "", "infra"),
}
# Switches whose other side the compiled profiles cannot serve: the chart refuses it, naming the fix (so the
# value is read). leaf → (values, A that renders, B that is refused, a fragment of the refusal).
REFUSED_CHANGES = {
    "api": (LLMISVC, "llmisvc", "isvc", "compiled for an LLMInferenceService"),
    "disaggregation.enabled": (LLMISVC_PD, True, False, "has prefill/decode roles"),
}


def with_leaf(base: dict, path: str, value) -> dict:
    out = json.loads(json.dumps(base))
    node = out
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


def test_change_table_covers_every_value():
    assert set(CHANGES) | set(REFUSED_CHANGES) == leaf_paths(values_with_optional_keys())


def test_switches_the_profiles_cannot_serve_are_refused_with_the_fix():
    def render(values: dict):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
            yaml.safe_dump(values, fh)
        try:
            return template("helm3", "used", values_files=[Path(fh.name)], namespace="llm")
        finally:
            Path(fh.name).unlink()

    for path, (base, a, b, fragment) in REFUSED_CHANGES.items():
        assert render(with_leaf(base, path, a)).returncode == 0, path
        refused = render(with_leaf(base, path, b))
        assert refused.returncode != 0 and fragment in refused.stderr, f"{path}: {refused.stderr}"


def test_every_value_changes_the_rendered_output():
    def render(values_json: str) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
            yaml.safe_dump(json.loads(values_json), fh)
        try:
            result = template("helm3", "used", values_files=[Path(fh.name)], namespace="llm")
        finally:
            Path(fh.name).unlink()
        assert result.returncode == 0, f"{values_json}: {result.stderr.strip()}"
        return result.stdout

    pairs = {path: tuple(json.dumps(with_leaf(base, path, v), sort_keys=True) for v in (a, b))
             for path, (base, a, b) in CHANGES.items()}
    distinct = sorted({v for pair in pairs.values() for v in pair})  # the A sides mostly coincide
    outputs = dict(zip(distinct, in_parallel(render, distinct)))
    unused = sorted(path for path, (a, b) in pairs.items() if outputs[a] == outputs[b])
    assert not unused, f"values no template reads (changing them changes nothing): {unused}"


def test_the_release_record_fits_a_secret():
    """Helm keeps each release in a Secret of at most 1 MiB: the chart itself (every file and template, each as
    base64 in the release JSON) gzip-compressed and base64-encoded again (helm pkg/storage/driver/util.go,
    encodeRelease). The compiled zero-config answers must leave room for the manifest and values."""
    import base64
    import gzip
    import json

    files = [{"name": str(p.relative_to(CHART)), "data": base64.b64encode(p.read_bytes()).decode()}
             for p in sorted(CHART.rglob("*")) if p.is_file()]
    record = base64.b64encode(gzip.compress(json.dumps({"chart": {"files": files}}).encode(), compresslevel=9))
    assert len(record) < 900_000, f"the chart takes {len(record):,} bytes of a release Secret's 1,048,576"
