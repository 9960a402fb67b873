"""plan() and fit_check(): shape choice, context, engine settings, env, and the one-line failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models, model_from_config
from aimgen.catalog.nodepool import NodePool, default_pool
from aimgen.errors import EXIT_NO_PLAN, InvalidInput, NoFeasiblePlan, UsageError
from aimgen.planning import fit_check, plan
from aimgen.planning.engine import SGLANG_ENV_NAMES, VLLM_ENV_NAMES

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
MODELS = load_models()
GPUS = load_gpus()
PLAN_KEYS = {
    "model", "checkpoint", "gpu", "gpus", "precision", "backend", "metric", "tensor_parallel_size",
    "pipeline_parallel_size", "nodes", "max_model_len", "max_num_seqs", "max_num_batched_tokens", "dtype",
    "kv_cache_dtype", "gpu_memory_utilization", "weights_bytes", "checkpoint_bytes", "weights_bytes_per_gpu",
    "overhead_bytes_per_gpu", "kv_cache_bytes_per_gpu", "kv_cache_bytes_per_token", "kv_cache_bytes_per_token_per_gpu",
    "kv_cache_tokens", "params", "params_active", "weight_format", "engine_args", "engine_env", "reasons",
    "replica_alternative", "parallelism",
}


def pool(gpu: str, nodes: int = 1) -> NodePool:
    return NodePool(name=f"{gpu}-pool", gpu=GPUS[gpu], gpus_per_node=GPUS[gpu].gpus_per_node, nodes=nodes)


def config_model(name: str):
    return model_from_config(f"example/{name}", FIXTURES / f"{name}.config.json")


def test_70b_bf16_fits_one_mi300x():
    p = plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi300x"), precision="bf16")
    assert (p.tensor_parallel_size, p.pipeline_parallel_size, p.nodes) == (1, 1, 1)
    assert p.weights_bytes == pytest.approx(141.1e9, rel=0.01)
    assert p.kv_cache_bytes_per_token == 327680
    assert p.kv_cache_tokens > p.max_model_len
    assert p.args["tensor-parallel-size"] == 1 and p.args["max-model-len"] == 32768


def test_as_dict_keys_are_stable():
    p = plan(MODELS["Qwen/Qwen3-8B"], pool("mi300x"), precision="bf16", metric="throughput")
    d = p.as_dict()
    assert set(d) == PLAN_KEYS
    assert d["gpus"] == p.tensor_parallel_size * p.pipeline_parallel_size
    assert isinstance(d["reasons"], list) and all(isinstance(r, str) for r in d["reasons"])


def test_rejected_shapes_are_explained():
    p = plan(MODELS["deepseek-ai/DeepSeek-R1"], pool("mi300x"), precision="fp8")
    assert p.tensor_parallel_size == 4
    text = "\n".join(p.reasons)
    assert "TP1 rejected" in text and "TP2 rejected" in text and "TP3 skipped" in text
    assert "TP4 is the smallest shape that fits" in text
    assert "MLA latent" in text


def test_metric_changes_scheduler_settings():
    model = MODELS["meta-llama/Llama-3.1-8B-Instruct"]
    lat = plan(model, pool("mi300x"), precision="bf16", metric="latency")
    thr = plan(model, pool("mi300x"), precision="bf16", metric="throughput")
    assert lat.max_num_seqs <= 64 < thr.max_num_seqs
    assert lat.max_num_batched_tokens < thr.max_num_batched_tokens
    assert thr.args["max-num-batched-tokens"] >= thr.args["max-num-seqs"]
    assert lat.replica_alternative is None
    assert thr.replica_alternative == "8 replicas of TP1 fill one 8-GPU node"


def test_replica_alternative_when_more_gpus_are_asked_for():
    p = plan(MODELS["meta-llama/Llama-3.1-8B-Instruct"], pool("mi300x"), precision="bf16", metric="throughput", gpus=8)
    assert p.tensor_parallel_size == 8
    assert p.replica_alternative.startswith("8 replicas of TP1 instead of one TP8")
    assert "TP8 as asked (--gpus 8)" in p.reasons


def test_env_follows_gpu_and_tp():
    model = MODELS["meta-llama/Llama-3.1-8B-Instruct"]
    one = plan(model, pool("mi300x"), precision="bf16")
    assert one.env == {"VLLM_ROCM_USE_AITER": "1"}  # no quick-reduce at TP1
    four = plan(model, pool("mi355x"), precision="bf16", gpus=4)
    assert four.env["VLLM_ROCM_QUICK_REDUCE_QUANTIZATION"] == "INT4"
    mi250 = plan(model, pool("mi250x"), precision="bf16", gpus=2)
    assert mi250.env == {}  # no AITER build for gfx90a
    awq = plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi300x"), precision="int4")
    assert awq.checkpoint == "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"
    assert awq.env["VLLM_USE_TRITON_AWQ"] == "1"
    for p in (one, four, mi250, awq):
        assert set(p.env) <= VLLM_ENV_NAMES
    sg = plan(model, pool("mi300x"), precision="bf16", backend="sglang", gpus=2)
    assert set(sg.env) <= SGLANG_ENV_NAMES and sg.env["SGLANG_USE_AITER"] == "1"
    assert sg.args["tp-size"] == 2 and "context-length" in sg.args and "tensor-parallel-size" not in sg.args


def test_fp8_kv_cache_and_on_the_fly_fp8():
    # Qwen3-8B has no pre-quantized FP8 repo in the catalog (Qwen3-32B has Qwen's own FP8 release)
    p = plan(MODELS["Qwen/Qwen3-8B"], pool("mi300x"), precision="fp8")
    assert p.checkpoint == "Qwen/Qwen3-8B" and p.args["quantization"] == "fp8"
    own = plan(MODELS["Qwen/Qwen3-32B"], pool("mi300x"), precision="fp8")
    assert own.checkpoint == "Qwen/Qwen3-32B-FP8" and "quantization" not in own.args
    assert p.kv_cache_dtype == "fp8" and p.args["kv-cache-dtype"] == "fp8"
    # the cache holds the bf16 checkpoint (8B: embeddings and lm_head stay bf16 in memory, so not quite 2x)
    assert p.checkpoint_bytes > 1.6 * p.weights_bytes
    kv = plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi300x"), precision="fp8")
    assert kv.checkpoint == "amd/Llama-3.1-70B-Instruct-FP8-KV" and "quantization" not in kv.args
    assert kv.kv_cache_dtype == "fp8"


def test_precision_the_gpu_lacks_names_the_alternative():
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi250x"), precision="fp8")
    assert exc.value.exit_code == EXIT_NO_PLAN
    assert "no FP8" in exc.value.message and "--precision bf16" in exc.value.message and "MI300X" in exc.value.message
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["meta-llama/Llama-3.3-70B-Instruct"], pool("mi300x"), precision="mxfp4")
    assert "MXFP4" in exc.value.message and "MI355X" in exc.value.message and "fp8" in exc.value.message
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["deepseek-ai/DeepSeek-V3"], pool("mi210"))
    assert "MI300X" in exc.value.message
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["deepseek-ai/DeepSeek-V3"], pool("mi300x"), precision="bf16")
    assert "ships fp8 weights only" in exc.value.message


def test_gpt_oss_mxfp4_runs_on_gfx942_through_triton():
    p = plan(MODELS["openai/gpt-oss-120b"], pool("mi300x"))
    assert p.precision == "mxfp4" and p.tensor_parallel_size == 1
    assert any("Triton" in r for r in p.reasons)
    assert p.weights_bytes == pytest.approx(65e9, rel=0.03)


def test_tp_that_does_not_divide_heads():
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["meta-llama/Llama-3.1-8B-Instruct"], pool("mi300x"), precision="bf16", gpus=3)
    assert "32 attention heads are not divisible by TP3" in exc.value.message
    assert "1, 2, 4, 8" in exc.value.message


def test_block_fp8_caps_tp():
    model = config_model("qwen3-235b-a22b-fp8")
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(model, pool("mi300x"), precision="fp8", gpus=8)
    assert "FP8 block 128" in exc.value.message and "1, 2, 4" in exc.value.message
    assert plan(model, pool("mi300x"), precision="fp8", gpus=4).tensor_parallel_size == 4
    assert not fit_check(model, GPUS["mi300x"], "fp8", 8).fits


def test_multi_node_pipeline_shape():
    model = MODELS["meta-llama/Llama-3.1-405B-Instruct"]
    p = plan(model, pool("mi250x", nodes=2), precision="bf16")
    assert (p.tensor_parallel_size, p.pipeline_parallel_size, p.nodes) == (8, 2, 2)
    assert p.args["pipeline-parallel-size"] == 2
    assert any("one 8-GPU node is too small" in r for r in p.reasons)
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(model, pool("mi250x", nodes=1), precision="bf16")
    assert "2 nodes of 8 x MI250X" in exc.value.message and "pool of MI300X" in exc.value.message


def test_model_larger_than_any_pool_says_what_would_work():
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["Qwen/Qwen3-235B-A22B"], pool("mi210"), precision="bf16")
    message = exc.value.message
    assert "does not fit 1 x 4 MI210" in message and "would work" in message


def test_max_model_len_capped_at_the_model_maximum():
    p = plan(MODELS["Qwen/Qwen3-8B"], pool("mi300x"), precision="bf16", max_model_len=200_000)
    assert p.max_model_len == 40960
    assert any("max_position_embeddings" in r for r in p.reasons)


def test_default_context_shrinks_with_a_reason():
    p = plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi300x"), precision="bf16", gpus=1,
             gpu_memory_utilization=0.72)
    assert 4096 <= p.max_model_len < 32768 and p.max_model_len % 256 == 0
    assert any(r.startswith("max_model_len 32,768 →") for r in p.reasons)
    assert p.kv_cache_tokens >= p.max_model_len


def test_asked_for_context_is_not_shrunk():
    with pytest.raises(NoFeasiblePlan) as exc:
        plan(MODELS["meta-llama/Llama-3.1-70B-Instruct"], pool("mi300x"), precision="bf16", gpus=1,
             max_model_len=131072, gpu_memory_utilization=0.8)
    assert "longest max_model_len that fits" in exc.value.message


@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".config.json") for p in FIXTURES.glob("*.config.json")))
def test_config_only_models_plan(name):
    model = config_model(name)
    assert not model.in_catalog
    for metric in ("latency", "throughput"):
        p = plan(model, pool("mi300x"), precision=None, metric=metric)
        assert p.checkpoint == model.id and p.tensor_parallel_size >= 1
        assert p.kv_cache_tokens >= p.max_model_len
        fit = fit_check(model, GPUS["mi300x"], p.precision, p.tensor_parallel_size, p.pipeline_parallel_size,
                        max_model_len=p.max_model_len, max_num_seqs=p.max_num_seqs)
        assert fit.fits, fit.reason


def test_fit_check_reports_rather_than_raises():
    model = MODELS["meta-llama/Llama-3.1-405B-Instruct"]
    small = fit_check(model, GPUS["mi300x"], "bf16", 2)
    assert not small.fits and "exceed the budget" in small.reason and small.weights_bytes > 0
    wrong = fit_check(model, GPUS["mi300x"], "bf16", 3)
    assert not wrong.fits and "not divisible by TP3" in wrong.reason
    no_fp8 = fit_check(model, GPUS["mi250x"], "fp8", 8)
    assert not no_fp8.fits and "FP8" in no_fp8.reason
    ok = fit_check(model, GPUS["mi300x"], "fp8", 8, max_model_len=None, max_num_seqs=None, gpu_memory_utilization=None)
    assert ok.fits and ok.checkpoint == "amd/Llama-3.1-405B-Instruct-FP8-KV"
    d = ok.as_dict()
    for key in ("fits", "reason", "weights_bytes", "checkpoint_bytes", "kv_cache_bytes_per_token", "kv_cache_tokens",
                "tensor_parallel_size", "pipeline_parallel_size", "max_model_len", "max_num_seqs", "gpus"):
        assert key in d


@pytest.mark.parametrize("kwargs, error", [
    ({"metric": "fastest"}, UsageError),
    ({"backend": "tgi"}, UsageError),
    ({"precision": "fp4"}, UsageError),
    ({"gpus": 0}, UsageError),
    ({"gpus": 64}, NoFeasiblePlan),
    ({"gpus": 12}, NoFeasiblePlan),
    ({"max_model_len": -5}, UsageError),
    ({"kv_cache_dtype": "int3"}, UsageError),
    ({"gpu_memory_utilization": 1.5}, UsageError),
])
def test_bad_arguments_are_one_line_errors(kwargs, error):
    with pytest.raises(error) as exc:
        plan(MODELS["meta-llama/Llama-3.1-8B-Instruct"], pool("mi300x", nodes=2), **{"precision": "bf16", **kwargs})
    assert "\n" not in exc.value.line()


def test_kv_fp8_on_gfx90a_is_refused():
    with pytest.raises(UsageError):
        plan(MODELS["meta-llama/Llama-3.1-8B-Instruct"], pool("mi250x"), precision="bf16", kv_cache_dtype="fp8")


def test_broken_config_is_invalid_input():
    model = MODELS["meta-llama/Llama-3.1-8B-Instruct"]
    broken = type(model)(id="x/y", config={**model.config, "num_key_value_heads": 5}, in_catalog=False)
    with pytest.raises(InvalidInput) as exc:
        plan(broken, default_pool(GPUS["mi300x"]))
    assert "num_key_value_heads" in exc.value.line()


@pytest.mark.parametrize("kwargs", [
    {"gpu_memory_utilization": "high"}, {"gpu_memory_utilization": 0}, {"max_model_len": "8192"},
    {"max_num_seqs": -1}, {"kv_cache_dtype": "fp4"},
])
def test_fit_check_bad_arguments_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        fit_check(MODELS["Qwen/Qwen3-8B"], GPUS["mi300x"], "bf16", 1, **kwargs)
    with pytest.raises(UsageError):
        fit_check(MODELS["Qwen/Qwen3-8B"], GPUS["mi300x"], "bf16", 0)
