"""`aimgen render` and `aimgen values`: requests → spec → KServe manifests (validated) or Helm values."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
from aimgen.cli.main import app
from aimgen.console import console
from aimgen.errors import InvalidInput, UsageError

MAX_REPLICAS = 2**31 - 1  # replica counts are int32 in the Kubernetes API
Output = Annotated[Optional[str], typer.Option("-o", "--output", help="Write here instead of stdout ('-' is stdout).")]


def _autoscale(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    lo, sep, hi = value.partition(":")
    try:
        bounds = (int(lo), int(hi))
    except ValueError:
        bounds = None
    if not sep or bounds is None or bounds[0] < 0 or bounds[1] < max(1, bounds[0]) or bounds[1] > MAX_REPLICAS:
        raise UsageError(f"--autoscale {value!r}: expected MIN:MAX with 0 <= MIN <= MAX, 1 <= MAX <= {MAX_REPLICAS}, "
                         "e.g. 1:4")
    return bounds


def _gateway(value: str | None) -> tuple[str, str] | None:
    from aimgen.names import dns_label

    if not value:
        return None
    name, _, namespace = value.partition("/")
    if dns_label(name) != name or (namespace and dns_label(namespace) != namespace):
        raise UsageError(f"--gateway {value!r}: expected NAME or NAME/NAMESPACE of a Gateway API Gateway")
    return (name, namespace)


@dataclass(frozen=True)
class RenderArgs:
    """`render` / `values` options as typed fields: what _compose reads (a reader and a type checker follow each)."""

    models: list[str]
    gpu: str | None = None
    gpus: int | None = None
    precision: str | None = None
    backend: str | None = None
    metric: str | None = None
    name: str | None = None
    namespace: str = "default"
    node_pool: Path | None = None
    model_config: Path | None = None
    max_model_len: int | None = None
    api: str = "isvc"
    router: str = "scheduler"
    disaggregate: bool = False
    feature: list[str] | None = None
    cluster_runtime: bool = False
    prefetch_job: bool = False
    init_container: bool = True
    cache: bool = True
    existing_claim: str | None = None
    cache_image: str | None = None
    cache_size: str | None = None
    hf_token_secret: str | None = None
    hf_endpoint: str | None = None
    model_source: str | None = None
    storage_secret: str | None = None
    local_model_cache: str | None = None
    monitoring: bool = False
    autoscale: str | None = None
    ingress_host: str | None = None
    ingress_class: str | None = None
    tls_secret: str | None = None
    gateway: str | None = None
    allow_namespace: list[str] | None = None
    engine_arg: list[str] | None = None
    env: list[str] | None = None


def _check_api_values(a: RenderArgs) -> None:
    """Options whose values land in manifests as they are: refused here when the API server would refuse them
    (validate/apirules.py), so neither `render` nor `values` writes them."""
    given = (a.ingress_host, a.ingress_class, a.tls_secret, a.existing_claim, a.storage_secret, a.cache_size,
             *(a.allow_namespace or ()))
    if all(v is None for v in given):
        return  # nothing to check: the rules module stays unloaded (start-up)
    from aimgen.validate import apirules

    checks = [
        ("--ingress-host", a.ingress_host, apirules.host),
        ("--ingress-class", a.ingress_class, apirules.dns1123_subdomain),
        ("--tls-secret", a.tls_secret, apirules.dns1123_subdomain),
        ("--existing-claim", a.existing_claim, apirules.dns1123_subdomain),
        ("--storage-secret", a.storage_secret, apirules.dns1123_subdomain),
        ("--cache-size", a.cache_size, lambda v: apirules.quantity(v, positive=True)),
        *(("--allow-namespace", ns, apirules.dns1123_label) for ns in a.allow_namespace or ()),
    ]
    for option, value, rule in checks:
        if value is not None and (why := rule(value)):
            raise UsageError(f"{option} {value!r} {why}")
    host = a.ingress_host
    if host and host.startswith("*.") and len(a.models) > 1:
        raise UsageError(f"--ingress-host {host!r} is a wildcard: with {len(a.models)} models each is served at "
                         f"<name>.<host>, and '<name>.{host}' is not a host; give a plain host such as "
                         f"{host[2:]!r} (models at <name>.{host[2:]})")


def _compose(a: RenderArgs):
    """Check option combinations, then requests → spec."""
    from aimgen.compose import Options, compose
    from aimgen.names import dns_label
    from aimgen.sources import hub_endpoint, local_cache_path, model_source

    name, namespace = a.name, a.namespace
    if name is not None and dns_label(name) != name:
        raise UsageError(f"--name {name!r} is not a valid Kubernetes name; try {dns_label(name)!r}")
    if namespace and dns_label(namespace) != namespace:
        raise UsageError(f"--namespace {namespace!r} is not a valid namespace name; try {dns_label(namespace)!r}")
    _check_api_values(a)
    if a.tls_secret and (not a.ingress_host or a.gateway):
        raise UsageError("--tls-secret is for the Ingress (give --ingress-host, without --gateway: with a Gateway, "
                         "TLS terminates at its listener)")
    o.check_api(a.api, a.router, a.disaggregate)
    endpoint = hub_endpoint(a.hf_endpoint)
    source = model_source(a.model_source)
    pool, requests = o.build_requests(a.models, a.gpu, a.gpus, a.precision, a.backend, a.metric,
                                      a.node_pool, a.model_config, a.max_model_len, a.feature, endpoint)
    names = [name if len(a.models) == 1 else None for _ in a.models]
    opts = Options(
        name=name, namespace=namespace, cluster_runtime=a.cluster_runtime, prefetch_job=a.prefetch_job,
        init_container=a.init_container, cache_enabled=a.cache, existing_claim=a.existing_claim,
        cache_image=a.cache_image, cache_size=a.cache_size, hf_token_secret=a.hf_token_secret,
        hf_endpoint=endpoint, model_source=source, storage_secret=a.storage_secret,
        local_model_cache=local_cache_path(a.local_model_cache),
        monitoring=a.monitoring, autoscale=_autoscale(a.autoscale), ingress_host=a.ingress_host,
        ingress_class=a.ingress_class, tls_secret=a.tls_secret, gateway=_gateway(a.gateway),
        allowed_namespaces=tuple(a.allow_namespace or ()), api=a.api, router=a.router,
        disaggregate=a.disaggregate,
        overrides=o.overrides(a.engine_arg, a.env),
    )
    spec, decisions = compose(list(zip(requests, names)), pool, opts)
    for d in decisions:
        for line in d.selection.fallbacks:
            console.warning(line, event="fallback", model=d.serving.model)
        for line in (line for short, line in d.repo_notes if short):
            console.warning(line, event="cache.size_unknown", model=d.serving.model)
    from aimgen.render.autoscaling import check as check_autoscaling

    for line in check_autoscaling(spec):
        console.warning(line, event="autoscaling")
    return spec, decisions


def render_cmd(
    models: o.Models,
    gpu: o.Gpu = None,
    gpus: o.Gpus = None,
    precision: o.Precision = None,
    backend: o.Backend = None,
    metric: o.Metric = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Release / InferenceService name (default: from the model id).")] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="Namespace of the rendered objects.")] = "default",
    node_pool: o.NodePoolFile = None,
    model_config: o.ModelConfig = None,
    max_model_len: o.MaxModelLen = None,
    api: o.Api = "isvc",
    router: o.Router = "scheduler",
    disaggregate: o.Disaggregate = False,
    feature: o.Features = None,
    fmt: Annotated[str, typer.Option("--format", help="kserve (manifests) | values (Helm values for charts/aim-engine).")] = "kserve",
    output: Output = None,
    cluster_runtime: Annotated[bool, typer.Option("--cluster-runtime", help="Render a ClusterServingRuntime instead of a namespaced ServingRuntime.")] = False,
    prefetch_job: Annotated[bool, typer.Option("--prefetch-job", help="Add a Job that warms the model cache before replicas start.")] = False,
    init_container: Annotated[bool, typer.Option("--init-container/--no-init-container", help="Check/fill the cache in an init container of every serving pod.")] = True,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Mount a persistent model cache (PVC).")] = True,
    existing_claim: Annotated[Optional[str], typer.Option("--existing-claim", help="Use this PVC for the cache instead of creating one.")] = None,
    cache_image: Annotated[Optional[str], typer.Option("--cache-image", help="Run the cache prefetch (and helm test) in this aimgen image; default: the engine image with the aimgen bundle from a ConfigMap.")] = None,
    cache_size: Annotated[Optional[str], typer.Option("--cache-size", help="Cache PVC size, e.g. 500Gi (default: computed from the weights).")] = None,
    hf_token_secret: Annotated[Optional[str], typer.Option("--hf-token-secret", help="Existing Secret NAME[:KEY] holding a Hugging Face token (never a token value).")] = None,
    hf_endpoint: o.HfEndpoint = None,
    model_source: o.ModelSource = None,
    storage_secret: Annotated[Optional[str], typer.Option("--storage-secret", metavar="NAME", help="Existing Secret with the bucket's credentials (and KServe's s3-endpoint annotations) for an s3:// --model-source.")] = None,
    local_model_cache: o.LocalModelCache = None,
    monitoring: Annotated[bool, typer.Option("--monitoring", help="Add a PodMonitor, the Grafana dashboard ConfigMap and a PrometheusRule (docs/observability.md).")] = False,
    autoscale: Annotated[Optional[str], typer.Option("--autoscale", help="MIN:MAX replicas, scaled by KServe through KEDA on vLLM queue and KV-cache usage (MIN 0: scale to zero).")] = None,
    ingress_host: Annotated[Optional[str], typer.Option("--ingress-host", help="Expose each model through an Ingress at this host (several models: <name>.<host>).")] = None,
    ingress_class: Annotated[Optional[str], typer.Option("--ingress-class", help="IngressClass of that Ingress.")] = None,
    tls_secret: Annotated[Optional[str], typer.Option("--tls-secret", help="Existing TLS Secret for the Ingress host.")] = None,
    gateway: Annotated[Optional[str], typer.Option("--gateway", help="Attach an HTTPRoute to this Gateway API Gateway: NAME[/NAMESPACE].")] = None,
    allow_namespace: Annotated[Optional[List[str]], typer.Option("--allow-namespace", help="Namespace allowed through the NetworkPolicy to the serving port (repeatable).")] = None,
    crds: Annotated[Optional[List[Path]], typer.Option("--crds", help="CRD folder(s) for validation (default: AIMGEN_CRD_DIR or ../shared).")] = None,
    kube_version: Annotated[Optional[str], typer.Option("--kube-version", help="Kubernetes version to validate against, X.Y.")] = None,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Validate the rendered manifests before writing them.")] = True,
    engine_arg: o.EngineArgs = None,
    env: o.EnvVars = None,
) -> None:
    """Render KServe manifests (or Helm values) for MODEL on a GPU node pool; validated before they are written."""
    if fmt not in ("kserve", "values"):
        raise UsageError(f"--format {fmt!r} is not one of: kserve, values")
    spec, _ = _compose(RenderArgs(
        models=models, gpu=gpu, gpus=gpus, precision=precision, backend=backend, metric=metric, name=name,
        namespace=namespace, node_pool=node_pool, model_config=model_config, max_model_len=max_model_len, api=api,
        router=router, disaggregate=disaggregate, feature=feature, cluster_runtime=cluster_runtime,
        prefetch_job=prefetch_job, init_container=init_container, cache=cache, existing_claim=existing_claim,
        cache_image=cache_image, cache_size=cache_size,
        hf_token_secret=hf_token_secret, hf_endpoint=hf_endpoint, model_source=model_source,
        storage_secret=storage_secret, local_model_cache=local_model_cache, monitoring=monitoring, autoscale=autoscale, ingress_host=ingress_host,
        ingress_class=ingress_class, tls_secret=tls_secret, gateway=gateway, allow_namespace=allow_namespace,
        engine_arg=engine_arg, env=env,
    ))
    _emit(spec, fmt, output, validate, crds, kube_version)


def _emit(spec, fmt: str, output: str | None, validate: bool, crds, kube_version) -> None:
    from aimgen.output import write_artifact
    from aimgen.yamlio import dump, dump_all

    if fmt == "values":
        from aimgen.chart_table import load_table
        from aimgen.render.values import to_values

        write_artifact(dump(to_values(spec, load_table({(svc.model, svc.gpu) for svc in spec.services}))), output)
        return
    from aimgen.render.manifests import render_all

    docs = render_all(spec)
    if validate:
        from aimgen.findings import has_errors
        from aimgen.validate.documents import validate_documents
        from aimgen.validate.report import emit_findings
        from aimgen.validate.serving import serving_findings

        findings = validate_documents(docs, source="rendered", crd_dirs=crds, kube_version=kube_version)
        findings += serving_findings([("rendered", doc) for doc in docs])
        emit_findings(findings)
        if has_errors(findings):
            raise InvalidInput("rendered manifests failed validation (see findings above); nothing was written")
    write_artifact(dump_all(docs), output)


def _with_defaults(fn, doc: str, **defaults):
    """The same command under another name with other defaults: one option list, two commands."""
    sig = inspect.signature(fn, eval_str=True)
    params = [p.replace(default=defaults[p.name]) if p.name in defaults else p for p in sig.parameters.values()]

    def command(**kwargs):
        return fn(**kwargs)

    command.__signature__ = sig.replace(parameters=params)
    command.__doc__ = doc
    return command


_registered: set[str] = set()


def register(word: str | None) -> None:
    """Put `render` and/or `values` on the app: only the one a command line invokes (None: both, for help).
    Typer builds every registered command's ~40 typed options on each call, a tenth of a cold render."""
    if word in (None, "render") and "render" not in _registered:
        _registered.add("render")
        app.command("render")(render_cmd)
    if word in (None, "values") and "values" not in _registered:
        _registered.add("values")
        app.command("values")(_with_defaults(
            render_cmd,
            "Helm values for charts/aim-engine (render --format values): `helm template` of them equals "
            "`aimgen render`.",
            fmt="values",
        ))
