"""Options shared by render, values and explain, and the one function that turns them into requests."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.errors import UsageError

Models = Annotated[List[str], typer.Argument(help="Model id(s): catalog ids (see `aimgen list models`), any Hub id org/name (config.json fetched from the Hub or HF_ENDPOINT, cached for offline runs), or any id with --model-config.", show_default=False)]
Gpu = Annotated[Optional[str], typer.Option("--gpu", help="GPU type, e.g. mi300x (see `aimgen list gpus`). Required unless --node-pool names it.")]
# A value given is a constraint: kept, or exit 3 saying what would work; left out, selection chooses and says
# every fallback (docs/selection.md).
Gpus = Annotated[Optional[int], typer.Option("--gpus", help="GPUs per replica (1, 2, 4, 8…); default: the recipe's default for the metric, within the pool.")]
Precision = Annotated[Optional[str], typer.Option("--precision", help="bf16 | fp16 | fp8 | int8 | int4 | mxfp4; default: the model's native precision where the GPU runs it.")]
Backend = Annotated[Optional[str], typer.Option("--backend", help="Serving engine: vllm | sglang | atom (atom: recipe-cited shapes only); default: vllm where the recipe has it.")]
Metric = Annotated[Optional[str], typer.Option("--metric", help="Optimise for latency | throughput; default: latency where the recipe has it.")]
NodePoolFile = Annotated[Optional[Path], typer.Option("--node-pool", help="Node pool YAML (schemas/node-pool.schema.json): GPUs per node, labels, tolerations.")]
ModelConfig = Annotated[Optional[Path], typer.Option("--model-config", help="config.json of a model not in the catalog (planned from its architecture).")]
Api = Annotated[str, typer.Option("--api", help="KServe API: isvc (InferenceService + ServingRuntime) | llmisvc (LLMInferenceService + LLMInferenceServiceConfig; docs/llmisvc.md).")]
Router = Annotated[str, typer.Option("--router", help="llmisvc routing: scheduler (llm-d endpoint picker, InferencePool, HTTPRoute, Gateway) | none (no router objects).")]
Disaggregate = Annotated[bool, typer.Option("--disaggregate", help="llmisvc: split prefill from decode with the model's cited P/D configuration (refused where none is cited).")]
Features = Annotated[Optional[List[str]], typer.Option("--feature", help="Switch on a feature the model's recipe documents: tool-calling | reasoning | spec-decoding (repeatable).")]
HfEndpoint = Annotated[Optional[str], typer.Option("--hf-endpoint", metavar="URL", help="Hugging Face Hub mirror (http[s]://HOST[:PORT][/PATH], no credentials) for the Hub-id config fetch here and, as HF_ENDPOINT, for every rendered container that talks to the Hub (chart: huggingface.endpoint).")]
ModelSource = Annotated[Optional[str], typer.Option("--model-source", metavar="URI", help="Weights already somewhere, read through KServe's storageUri at /mnt/models instead of the Hub and the cache: pvc://CLAIM[/PATH] (mounted read-only), s3://BUCKET[/PATH] (KServe's storage initializer), oci://REGISTRY/REPO:TAG (a model car); docs/cache.md.")]
LocalModelCache = Annotated[Optional[str], typer.Option("--local-model-cache", metavar="HOST_PATH", help="Cache each model on the AMD nodes' own disks at HOST_PATH with KServe's LocalModelCache + LocalModelNodeGroup (needs KServe's localmodel controller; docs/cache.md).")]
MaxModelLen = Annotated[Optional[int], typer.Option("--max-model-len", min=256, max=2**31 - 1, help="Context length to serve (never above the model's maximum).")]


def check_api(api: str, router: str, disaggregate: bool) -> None:
    from aimgen.constants import API_LLMISVC, APIS, ROUTER_SCHEDULER, ROUTERS

    if api not in APIS:
        raise UsageError(f"--api {api!r} is not one of: {', '.join(APIS)}")
    if router not in ROUTERS:
        raise UsageError(f"--router {router!r} is not one of: {', '.join(ROUTERS)}")
    if api != API_LLMISVC and router != ROUTER_SCHEDULER:
        raise UsageError("--router is for --api llmisvc (an InferenceService has no router)")
    if api != API_LLMISVC and disaggregate:
        raise UsageError("--disaggregate needs --api llmisvc (KServe's LLMInferenceService `prefill` section)")


def resolve_pool(gpu: str | None, node_pool: Path | None):
    # Catalog imports pull in jsonschema: load them when a command runs, not when the CLI starts.
    from aimgen.catalog.gpus import get_gpu
    from aimgen.catalog.nodepool import default_pool, load_node_pool

    if node_pool is not None:
        return load_node_pool(node_pool, gpu_override=gpu)
    if not gpu:
        raise UsageError("--gpu is required (e.g. --gpu mi300x) unless --node-pool gives the GPU type")
    return default_pool(get_gpu(gpu))


EngineArgs = Annotated[Optional[List[str]], typer.Option("--engine-arg", metavar="KEY=VALUE", help="Engine flag over the profile's (repeatable; no leading dashes; `true` is a bare flag), checked against the engine's snapshot.")]
EnvVars = Annotated[Optional[List[str]], typer.Option("--env", metavar="NAME=VALUE", help="Engine environment variable over the profile's (repeatable), checked against the engine's snapshot.")]


def _pairs(option: str, items: list[str] | None) -> list[tuple[str, str]]:
    out = []
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE")
        out.append((key, value))
    return out


def overrides(engine_args: list[str] | None, env: list[str] | None):
    """--engine-arg / --env as typed overrides: values read as YAML scalars (8192 an int, true a bare flag)."""
    import yaml

    from aimgen.compose import Overrides

    if not engine_args and not env:
        return None
    def scalar(key: str, text: str):
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            value = text
        if not isinstance(value, (str, int, float, bool)):
            return text  # a flag's value is one word: '[1,2]' or '{a: 1}' go to the engine as written
        return value

    args = tuple((k, scalar(k, v)) for k, v in _pairs("--engine-arg", engine_args))
    return Overrides(args=args, env=tuple(_pairs("--env", env)))


def build_requests(models: list[str], gpu: str | None, gpus: int | None, precision: str | None, backend: str | None,
                   metric: str | None, node_pool: Path | None, model_config: Path | None,
                   max_model_len: int | None, features: list[str] | None = None, hf_endpoint: str | None = None):
    from aimgen.catalog.models import find_model, get_model, model_from_config
    from aimgen.select import Request

    from aimgen.recipes.features import FEATURES

    for name in features or ():
        if name not in FEATURES:
            raise UsageError(f"--feature {name!r} is not one of: {', '.join(FEATURES)}")
    pool = resolve_pool(gpu, node_pool)
    if model_config is not None and len(models) != 1:
        raise UsageError("--model-config describes one model: give exactly one MODEL with it")
    requests = []
    for model_id in models:
        if model_config is not None:
            model = model_from_config(model_id, model_config)
        elif find_model(model_id) is None and "/" in model_id:
            from aimgen.catalog.hub import hub_model

            model = hub_model(model_id, endpoint=hf_endpoint)
        else:
            model = get_model(model_id)
        requests.append(Request(model=model, pool=pool, gpus=gpus, precision=precision, backend=backend,
                                metric=metric, max_model_len=max_model_len,
                                features=tuple(dict.fromkeys(features or ()))))
    return pool, requests


# Every report command takes the same switch for machine-readable output: --output-format text|json (stable keys on
# stdout). `--json` stays as its short form on the commands that had it, and the cache commands' `--format`.
OutputFormat = Annotated[str, typer.Option("--output-format", metavar="text|json", help="text (default) | json: stable keys on stdout.")]
OUTPUT_FORMATS = ("text", "json")


def wants_json(output_format: str, as_json: bool = False) -> bool:
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"--output-format {output_format!r} is not one of: {', '.join(OUTPUT_FORMATS)}")
    return as_json or output_format == "json"

