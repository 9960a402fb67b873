"""Options shared by render, values and explain, and the one function that turns them into requests."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.errors import UsageError

Models = Annotated[List[str], typer.Argument(help="Model id(s): catalog ids (see `aimgen list models`), any Hub id org/name (config.json fetched from the Hub or HF_ENDPOINT, cached for offline runs), or any id with --model-config.", show_default=False)]
Gpu = Annotated[Optional[str], typer.Option("--gpu", help="GPU type, e.g. mi300x (see `aimgen list gpus`). Required unless --node-pool names it.")]
Gpus = Annotated[Optional[int], typer.Option("--gpus", help="GPUs per replica (1, 2, 4, 8…); default: the recipe's choice or the planner's minimum.")]
Precision = Annotated[Optional[str], typer.Option("--precision", help="bf16 | fp16 | fp8 | int8 | int4 | mxfp4; default: the model's native precision where the GPU runs it.")]
Backend = Annotated[str, typer.Option("--backend", help="Serving engine: vllm | sglang.")]
Metric = Annotated[str, typer.Option("--metric", help="Optimise for latency | throughput.")]
NodePoolFile = Annotated[Optional[Path], typer.Option("--node-pool", help="Node pool YAML (schemas/node-pool.schema.json): GPUs per node, labels, tolerations.")]
ModelConfig = Annotated[Optional[Path], typer.Option("--model-config", help="config.json of a model not in the catalog (planned from its architecture).")]
Api = Annotated[str, typer.Option("--api", help="KServe API: isvc (InferenceService + ServingRuntime) | llmisvc (LLMInferenceService + LLMInferenceServiceConfig; docs/llmisvc.md).")]
Router = Annotated[str, typer.Option("--router", help="llmisvc routing: scheduler (llm-d endpoint picker, InferencePool, HTTPRoute, Gateway) | none (no router objects).")]
Disaggregate = Annotated[bool, typer.Option("--disaggregate", help="llmisvc: split prefill from decode with the model's cited P/D configuration (refused where none is cited).")]
Features = Annotated[Optional[List[str]], typer.Option("--feature", help="Switch on a feature the model's recipe documents: tool-calling | reasoning | spec-decoding (repeatable).")]
HfEndpoint = Annotated[Optional[str], typer.Option("--hf-endpoint", metavar="URL", help="Hugging Face Hub mirror (http[s]://HOST[:PORT][/PATH], no credentials) for the Hub-id config fetch here and, as HF_ENDPOINT, for every rendered container that talks to the Hub (chart: huggingface.endpoint).")]
ModelSource = Annotated[Optional[str], typer.Option("--model-source", metavar="URI", help="Weights already somewhere, read through KServe's storageUri at /mnt/models instead of the Hub and the cache: pvc://CLAIM[/PATH] (mounted read-only), s3://BUCKET[/PATH] (KServe's storage initializer), oci://REGISTRY/REPO:TAG (a model car); docs/cache.md.")]
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


def build_requests(models: list[str], gpu: str | None, gpus: int | None, precision: str | None, backend: str,
                   metric: str, node_pool: Path | None, model_config: Path | None,
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
