"""`aimgen explain`: why this profile, these GPUs and these flags, with the arithmetic."""

from __future__ import annotations

import json

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
from aimgen.cli.main import app


@app.command("explain")
def explain_cmd(
    models: o.Models,
    gpu: o.Gpu = None,
    gpus: o.Gpus = None,
    precision: o.Precision = None,
    backend: o.Backend = None,
    metric: o.Metric = None,
    node_pool: o.NodePoolFile = None,
    model_config: o.ModelConfig = None,
    max_model_len: o.MaxModelLen = None,
    api: o.Api = "isvc",
    router: o.Router = "scheduler",
    disaggregate: o.Disaggregate = False,
    feature: o.Features = None,
    hf_endpoint: o.HfEndpoint = None,
    model_source: o.ModelSource = None,
    local_model_cache: o.LocalModelCache = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output with stable keys.")] = False,
    output_format: o.OutputFormat = "text",
    engine_arg: o.EngineArgs = None,
    env: o.EnvVars = None,
) -> None:
    """Explain the decision for MODEL on a GPU: selected profile or plan, fallbacks, memory arithmetic."""
    as_json = o.wants_json(output_format, as_json)
    from aimgen.compose import Options, compose
    from aimgen.explain import explain_dict, explain_text

    from aimgen.sources import hub_endpoint, local_cache_path, model_source as parse_source

    o.check_api(api, router, disaggregate)
    source = parse_source(model_source)
    pool, requests = o.build_requests(models, gpu, gpus, precision, backend, metric, node_pool, model_config,
                                      max_model_len, feature, hub_endpoint(hf_endpoint))
    # The same composition render runs: the API shapes the engine's port, model path and P/D roles.
    _, decisions = compose([(r, None) for r in requests], pool,
                           Options(api=api, router=router, disaggregate=disaggregate, model_source=source,
                                   local_model_cache=local_cache_path(local_model_cache),
                                   overrides=o.overrides(engine_arg, env)))
    if as_json:
        payload = [explain_dict(d, api, router) for d in decisions]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, default=str))
    else:
        typer.echo("\n\n".join(explain_text(d, api, router) for d in decisions))
