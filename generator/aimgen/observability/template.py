"""Placeholders in the dashboard and alert JSON texts, and the one way they are filled.

The chart ships the same texts (files/dashboard.json, files/alerts.json) and fills them with Helm's
`replace`, JSON-escaping each value exactly as `fill` does; so `aimgen render` and `helm template`
produce byte-identical strings. Values are plain ASCII (DNS names, numbers, PromQL label matchers).
"""

from __future__ import annotations

import json

RELEASE = "__AIM_RELEASE__"
NAMESPACE = "__AIM_NAMESPACE__"
DASHBOARD_UID = "__AIM_DASHBOARD_UID__"
SELECTOR = "__AIM_SELECTOR__"  # label matchers for the release's predictor pods (vLLM and GPU series)
DEPLOYMENTS = "__AIM_DEPLOYMENTS__"  # regex over the serving Deployments or LeaderWorkerSets (kube-state-metrics)
TTFT_P95_SECONDS = "__AIM_TTFT_P95_SECONDS__"
KV_CACHE_USAGE = "__AIM_KV_CACHE_USAGE__"
WAITING_REQUESTS = "__AIM_WAITING_REQUESTS__"
GPU_MEMORY_USAGE = "__AIM_GPU_MEMORY_USAGE__"
STARTUP_GRACE = "__AIM_STARTUP_GRACE__"

ALL = (RELEASE, NAMESPACE, DASHBOARD_UID, SELECTOR, DEPLOYMENTS, TTFT_P95_SECONDS, KV_CACHE_USAGE,
       WAITING_REQUESTS, GPU_MEMORY_USAGE, STARTUP_GRACE)


def number(value: float | int) -> str:
    """A threshold as Helm's `toString` prints a YAML number: 2.0 → "2", 0.95 → "0.95"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def escape(value: str) -> str:
    """The value as it must appear inside a JSON string (Helm: `toJson | trimPrefix "\\"" | trimSuffix "\\""`)."""
    return json.dumps(value)[1:-1]


def fill(text: str, values: dict[str, str]) -> str:
    for key in ALL:
        if key in values:
            text = text.replace(key, escape(values[key]))
    return text
