"""Kubernetes object names: valid DNS-1123 labels, length-limited, hashed when cut. The one naming rule: the
chart's aim-engine.dnsLabel helper is the same function, and tests/test_chart_equivalence.py holds them equal."""

from __future__ import annotations

import hashlib
import re

# KServe appends "-predictor" (and Knative more) to the InferenceService name; 45 keeps every derived name ≤ 63.
MAX_ISVC_NAME = 45
MAX_LABEL = 63


def dns_label(text: str, max_len: int = MAX_LABEL) -> str:
    """Lower-case, [a-z0-9-], starting with a letter, ≤ max_len; a cut name ends with 8 hex of its hash."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"m-{cleaned}".rstrip("-")
    if len(cleaned) <= max_len:
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{cleaned[: max_len - 9].rstrip('-')}-{digest}"


def model_name(model_id: str) -> str:
    """Default InferenceService name for a model id: its repo part (org dropped)."""
    return dns_label(model_id.split("/")[-1], MAX_ISVC_NAME)


def runtime_name(release: str, base_name: str) -> str:
    """A release's own (Cluster)ServingRuntime (base_name: RuntimeSpec.base_name): two releases never share or
    fight over one."""
    return dns_label(f"{release}-{base_name}")
