"""`aimgen render` and `aimgen values`: requests → spec → KServe manifests (validated) or Helm values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
from aimgen.cli.main import app
from aimgen.console import console
from aimgen.errors import InvalidInput, UsageError

QUANTITY = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
Output = Annotated[Optional[str], typer.Option("-o", "--output", help="Write here instead of stdout ('-' is stdout).")]


def _autoscale(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    lo, sep, hi = value.partition(":")
    try:
        bounds = (int(lo), int(hi))
    except ValueError:
        bounds = None
    if not sep or bounds is None or bounds[0] < 0 or bounds[1] < max(1, bounds[0]):
        raise UsageError(f"--autoscale {value!r}: expected MIN:MAX with 0 <= MIN <= MAX and MAX >= 1, e.g. 1:4")
    return bounds


def _compose(models, gpu, gpus, precision, backend, metric, node_pool, model_config, max_model_len, name, namespace,
             cluster_runtime, prefetch_job, init_container, cache, existing_claim, cache_size, hf_token_secret,
             monitoring, autoscale):
    from aimgen.compose import Options, compose
    from aimgen.names import dns_label

    if name is not None and dns_label(name) != name:
        raise UsageError(f"--name {name!r} is not a valid Kubernetes name; try {dns_label(name)!r}")
    if namespace and dns_label(namespace) != namespace:
        raise UsageError(f"--namespace {namespace!r} is not a valid namespace name; try {dns_label(namespace)!r}")
    if cache_size is not None and not QUANTITY.match(cache_size):
        raise UsageError(f"--cache-size {cache_size!r} is not a storage quantity; use e.g. 500Gi or 2Ti")
    pool, requests = o.build_requests(models, gpu, gpus, precision, backend, metric, node_pool, model_config, max_model_len)
    names = [name if len(models) == 1 else None for _ in models]
    opts = Options(
        name=name, namespace=namespace, cluster_runtime=cluster_runtime, prefetch_job=prefetch_job,
        init_container=init_container, cache_enabled=cache, existing_claim=existing_claim, cache_size=cache_size,
        hf_token_secret=hf_token_secret, monitoring=monitoring, autoscale=_autoscale(autoscale),
    )
    spec, decisions = compose(list(zip(requests, names)), pool, opts)
    for d in decisions:
        for line in d.selection.fallbacks:
            console.warning(line, event="fallback", model=d.serving.model)
    from aimgen.render.autoscaling import check as check_autoscaling

    for line in check_autoscaling(spec):
        console.warning(line, event="autoscaling")
    return spec, decisions


@app.command("render")
def render_cmd(
    models: o.Models,
    gpu: o.Gpu = None,
    gpus: o.Gpus = None,
    precision: o.Precision = None,
    backend: o.Backend = "vllm",
    metric: o.Metric = "latency",
    name: Annotated[Optional[str], typer.Option("--name", help="Release / InferenceService name (default: from the model id).")] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="Namespace of the rendered objects.")] = "default",
    node_pool: o.NodePoolFile = None,
    model_config: o.ModelConfig = None,
    max_model_len: o.MaxModelLen = None,
    fmt: Annotated[str, typer.Option("--format", help="kserve (manifests) | values (Helm values for charts/aim-engine).")] = "kserve",
    output: Output = None,
    cluster_runtime: Annotated[bool, typer.Option("--cluster-runtime", help="Render a ClusterServingRuntime instead of a namespaced ServingRuntime.")] = False,
    prefetch_job: Annotated[bool, typer.Option("--prefetch-job", help="Add a Job that warms the model cache before replicas start.")] = False,
    init_container: Annotated[bool, typer.Option("--init-container/--no-init-container", help="Check/fill the cache in an init container of every serving pod.")] = True,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Mount a persistent model cache (PVC).")] = True,
    existing_claim: Annotated[Optional[str], typer.Option("--existing-claim", help="Use this PVC for the cache instead of creating one.")] = None,
    cache_size: Annotated[Optional[str], typer.Option("--cache-size", help="Cache PVC size, e.g. 500Gi (default: computed from the weights).")] = None,
    hf_token_secret: Annotated[Optional[str], typer.Option("--hf-token-secret", help="Existing Secret NAME[:KEY] holding a Hugging Face token (never a token value).")] = None,
    monitoring: Annotated[bool, typer.Option("--monitoring", help="Add a PodMonitor, the Grafana dashboard ConfigMap and a PrometheusRule (docs/observability.md).")] = False,
    autoscale: Annotated[Optional[str], typer.Option("--autoscale", help="MIN:MAX replicas, scaled by KServe through KEDA on vLLM queue and KV-cache usage (MIN 0: scale to zero).")] = None,
    crds: Annotated[Optional[List[Path]], typer.Option("--crds", help="CRD folder(s) for validation (default: AIMGEN_CRD_DIR or ../shared).")] = None,
    kube_version: Annotated[Optional[str], typer.Option("--kube-version", help="Kubernetes version to validate against, X.Y.")] = None,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Validate the rendered manifests before writing them.")] = True,
) -> None:
    """Render KServe manifests (or Helm values) for MODEL on a GPU node pool; validated before they are written."""
    if fmt not in ("kserve", "values"):
        raise UsageError(f"--format {fmt!r} is not one of: kserve, values")
    spec, _ = _compose(models, gpu, gpus, precision, backend, metric, node_pool, model_config, max_model_len, name,
                       namespace, cluster_runtime, prefetch_job, init_container, cache, existing_claim, cache_size,
                       hf_token_secret, monitoring, autoscale)
    _emit(spec, fmt, output, validate, crds, kube_version)


def _emit(spec, fmt: str, output: str | None, validate: bool, crds, kube_version) -> None:
    from aimgen.output import write_artifact
    from aimgen.yamlio import dump, dump_all

    if fmt == "values":
        from aimgen.chart_table import load_table
        from aimgen.render.values import to_values

        write_artifact(dump(to_values(spec, load_table())), output)
        return
    from aimgen.render.manifests import render_all

    docs = render_all(spec)
    if validate:
        from aimgen.validate.documents import validate_documents
        from aimgen.findings import has_errors
        from aimgen.validate.report import emit_findings

        findings = validate_documents(docs, source="rendered", crd_dirs=crds, kube_version=kube_version)
        emit_findings(findings)
        if has_errors(findings):
            raise InvalidInput("rendered manifests failed validation (see findings above); nothing was written")
    write_artifact(dump_all(docs), output)


@app.command("values")
def values_cmd(
    models: o.Models,
    gpu: o.Gpu = None,
    gpus: o.Gpus = None,
    precision: o.Precision = None,
    backend: o.Backend = "vllm",
    metric: o.Metric = "latency",
    name: Annotated[Optional[str], typer.Option("--name", help="Release / InferenceService name.")] = None,
    node_pool: o.NodePoolFile = None,
    model_config: o.ModelConfig = None,
    max_model_len: o.MaxModelLen = None,
    output: Output = None,
    cluster_runtime: Annotated[bool, typer.Option("--cluster-runtime")] = False,
    prefetch_job: Annotated[bool, typer.Option("--prefetch-job")] = False,
    init_container: Annotated[bool, typer.Option("--init-container/--no-init-container")] = True,
    cache: Annotated[bool, typer.Option("--cache/--no-cache")] = True,
    existing_claim: Annotated[Optional[str], typer.Option("--existing-claim")] = None,
    cache_size: Annotated[Optional[str], typer.Option("--cache-size")] = None,
    hf_token_secret: Annotated[Optional[str], typer.Option("--hf-token-secret")] = None,
    monitoring: Annotated[bool, typer.Option("--monitoring")] = False,
    autoscale: Annotated[Optional[str], typer.Option("--autoscale")] = None,
) -> None:
    """Helm values for charts/aim-engine: same options as render; `helm template` of them equals `aimgen render`."""
    spec, _ = _compose(models, gpu, gpus, precision, backend, metric, node_pool, model_config, max_model_len, name,
                       "default", cluster_runtime, prefetch_job, init_container, cache, existing_claim, cache_size,
                       hf_token_secret, monitoring, autoscale)
    _emit(spec, "values", output, False, None, None)
