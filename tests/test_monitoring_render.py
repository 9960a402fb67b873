"""Monitoring objects from a DeploymentSpec: what is rendered when, how it selects the pods, strict CRD validity."""

from __future__ import annotations

import json

import pytest

from aimgen.findings import has_errors
from aimgen.render import kserve, monitoring
from aimgen.render.manifests import render_all
from aimgen.sizing import startup_grace_minutes
from aimgen.spec import Probes
from aimgen.validate.documents import validate_documents
from monitoring_fixtures import RUNTIME, make_spec, serving


def kinds(docs):
    return [d["kind"] for d in docs]


def test_nothing_without_monitoring():
    assert monitoring.render(make_spec(monitoring=False)) == []


def test_podmonitor_dashboard_and_rules_by_default():
    assert kinds(monitoring.render(make_spec())) == ["PodMonitor", "ConfigMap", "PrometheusRule"]


def test_annotations_mode_adds_no_scrape_object():
    docs = monitoring.render(make_spec(scrape="annotations"))
    assert kinds(docs) == ["ConfigMap", "PrometheusRule"]
    spec = make_spec(scrape="annotations")
    isvc = kserve.inference_service(spec, spec.services[0], RUNTIME)
    annotations = isvc["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8080"


def test_switches_drop_dashboard_and_alerts():
    assert kinds(monitoring.render(make_spec(dashboards=False, alerts=False))) == ["PodMonitor"]


def test_podmonitor_selects_the_predictor_pods_on_the_declared_port():
    spec = make_spec(services=[serving(), serving("llama", "meta-llama/Llama-3.1-8B-Instruct")])
    pm = monitoring.pod_monitor(spec)
    for svc in spec.services:
        pod_labels = kserve.inference_service(spec, svc, RUNTIME)["spec"]["predictor"]["labels"]
        assert pm["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    runtime = kserve.serving_runtime(spec, RUNTIME)
    declared = {p["containerPort"] for p in runtime["spec"]["containers"][0]["ports"]}
    assert [e["portNumber"] for e in pm["spec"]["podMetricsEndpoints"]] == sorted(declared)
    assert pm["spec"]["podMetricsEndpoints"][0]["path"] == RUNTIME.metrics_path
    assert pm["spec"]["namespaceSelector"] == {"matchNames": ["llm"]}


def test_prometheus_selector_labels_go_on_monitor_and_rules_not_dashboard():
    spec = make_spec(selector_labels=(("release", "kube-prometheus-stack"),))
    pm, cm, rule = monitoring.render(spec)
    assert pm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert "release" not in cm["metadata"]["labels"]


def test_dashboard_configmap_carries_the_sidecar_label_and_the_filled_json():
    cm = monitoring.dashboard_configmap(make_spec(dashboard_labels=(("grafana_dashboard", "yes"),)))
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "yes"
    (key, text), = cm["data"].items()
    assert key == "aim-engine-qwen.json"
    model = json.loads(text)
    assert model["uid"] == monitoring.dashboard_uid(make_spec()) and len(model["uid"]) <= 40
    current = {v["name"]: v["current"] for v in model["templating"]["list"]}
    assert current["namespace"]["value"] == "llm"


def test_dashboard_uid_differs_per_release_and_namespace():
    uids = {monitoring.dashboard_uid(make_spec(release=r, namespace=n)) for r in ("a", "b") for n in ("x", "y")}
    assert len(uids) == 4


def test_network_policy_lets_the_monitoring_namespace_in_only_when_monitoring():
    def namespaces(spec):
        sources = kserve.network_policy(spec)["spec"]["ingress"][0]["from"]
        return [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for s in sources if "namespaceSelector" in s]

    assert namespaces(make_spec(monitoring=False)) == []
    assert namespaces(make_spec()) == ["monitoring"]


def test_startup_grace_covers_download_and_probe_allowance():
    small = serving(weights_bytes=16 * 2**30, probes=Probes(startup_failure_threshold=66))
    big = serving("big", weights_bytes=800 * 2**30, probes=Probes(startup_failure_threshold=380))
    # 16 GiB at 200 MiB/s = 82 s, plus 660 s of startup probe: 13 min, plus the 10 min margin, up to 25
    assert startup_grace_minutes([small]) == 25
    # 800 GiB at 200 MiB/s = 68 min, plus 63 min of startup probe and the margin
    assert startup_grace_minutes([small, big]) == 145
    assert startup_grace_minutes([]) == 15


@pytest.mark.parametrize("options", [{}, {"scrape": "annotations"}, {"selector_labels": (("release", "prom"),)}])
def test_rendered_objects_validate_strictly_against_their_crds(options):
    spec = make_spec(services=[serving(), serving("llama", "meta-llama/Llama-3.1-8B-Instruct")], **options)
    docs = monitoring.render(spec) + [kserve.network_policy(spec)]
    findings = validate_documents(docs, source="monitoring")
    assert not has_errors(findings), [f.line() for f in findings]


def test_render_all_includes_monitoring_last():
    docs = render_all(make_spec())
    assert kinds(docs)[-3:] == ["PodMonitor", "ConfigMap", "PrometheusRule"]
