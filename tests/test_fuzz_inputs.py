"""Property tests: malformed recipes, node pools, model configs and CLI values never produce a traceback."""

from __future__ import annotations

import json
import random

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from aimgen.catalog.models import model_from_config
from aimgen.catalog.nodepool import load_node_pool
from aimgen.errors import AimgenError
from aimgen.recipes.load import load_recipe, recipe_files

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _mutate(doc, seed: int, replacement):
    rnd = random.Random(seed)
    paths = [p for p in _paths(doc) if p]
    path = rnd.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = rnd.choice(["replace", "delete", "add"])
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[f"extra{seed % 7}"] = replacement
    else:
        parent[path[-1]] = replacement
    return doc


def _expect_clean(fn, *args):
    try:
        fn(*args)
    except AimgenError as exc:
        assert exc.line() and "\n" not in exc.line()


@SETTINGS
@given(seed=st.integers(0, 10**9), replacement=values)
def test_malformed_recipes_fail_cleanly(tmp_path, seed, replacement):
    source = recipe_files()[seed % len(recipe_files())]
    doc = _mutate(yaml.safe_load(source.read_text()), seed, replacement)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(doc))
    _expect_clean(load_recipe, path)


@SETTINGS
@given(text=st.text(max_size=200))
def test_garbage_recipe_text_fails_cleanly(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    _expect_clean(load_recipe, path)


pool_keys = st.sampled_from(["name", "gpu", "gpusPerNode", "nodes", "cpuPerGpu", "memoryGiBPerGpu", "nodeSelector",
                             "tolerations", "storageClass", "cacheAccessMode", "matchDeviceIds", "bogus"])


@SETTINGS
@given(doc=st.dictionaries(pool_keys, values, max_size=8))
def test_malformed_node_pools_fail_cleanly(tmp_path, doc):
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(doc))
    _expect_clean(load_node_pool, path)


config_keys = st.sampled_from(["num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
                               "head_dim", "vocab_size", "max_position_embeddings", "intermediate_size",
                               "num_experts", "num_experts_per_tok", "moe_intermediate_size", "kv_lora_rank",
                               "quantization_config", "torch_dtype", "tie_word_embeddings", "sliding_window"])


@SETTINGS
@given(doc=st.dictionaries(config_keys, values, max_size=10))
def test_malformed_model_configs_plan_or_fail_cleanly(tmp_path, doc):
    from aimgen.catalog.gpus import get_gpu
    from aimgen.catalog.nodepool import default_pool
    from aimgen.compose import decide
    from aimgen.select import Request

    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))

    def plan_it():
        model = model_from_config("acme/fuzz", path)
        decide(Request(model, default_pool(get_gpu("mi300x"))), "fuzz")

    _expect_clean(plan_it)


option_values = st.one_of(st.text(max_size=12), st.sampled_from(["mi300x", "mi355x", "8", "0", "-1", "fp8", "bf16",
                                                                 "vllm", "sglang", "latency", "1:4", ""]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opts=st.dictionaries(st.sampled_from(["--gpu", "--gpus", "--precision", "--backend", "--metric", "--name",
                                             "--namespace", "--autoscale", "--max-model-len", "--cache-size"]),
                            option_values, max_size=5))
def test_cli_values_never_trace(cli, opts):
    args = ["render", "Qwen/Qwen3-8B", "--no-validate", "-o", "-"]
    for k, v in opts.items():
        args += [k, v]
    code, out, err = cli(*args)
    _expect_one_line(code, err, allowed=(0, 1, 2, 3, 4))


def _expect_one_line(code: int, err: str, allowed=(0, 1, 2, 3)) -> None:
    """The CLI contract under fuzzing: a documented exit code, never a traceback or an internal error, and a
    failure is one line."""
    assert code in allowed, err
    assert "Traceback" not in err and "internal error" not in err, err
    if code:
        assert len([l for l in err.splitlines() if l.strip() and not l.startswith("warning:")]) == 1, err


# Hostile JSON: any shape where the planner expects numbers and objects, huge and fractional numbers, nesting.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=10), st.sampled_from([0, 1, 4, 8, 64, 4096, "four", "fp8", "awq", "bfloat16", 1e30])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
quant_configs = st.one_of(json_values, st.fixed_dictionaries(
    {"quant_method": st.sampled_from(["fp8", "awq", "gptq", "mxfp4", "compressed-tensors", "quark", "modelopt", "x"])},
    optional={"bits": json_values, "group_size": json_values, "weight_block_size": json_values,
              "config_groups": json_values, "global_quant_config": json_values, "exclude": json_values,
              "modules_to_not_convert": json_values, "quant_algo": json_values}))
BASE_CONFIG = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
               "max_position_embeddings": 4096, "intermediate_size": 128}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.dictionaries(st.one_of(config_keys, st.sampled_from(["text_config", "layer_types", "model_type",
                                                                         "architectures", "num_local_experts",
                                                                         "mlp_only_layers", "sliding_window_pattern"])),
                                 json_values, max_size=4),
       quant=st.one_of(st.none(), quant_configs), nest=st.integers(0, 3))
def test_model_configs_through_the_cli_never_give_internal_errors(cli, tmp_path, overrides, quant, nest):
    doc = {**BASE_CONFIG, **overrides}
    if quant is not None:
        doc["quantization_config"] = quant
    for _ in range(nest):  # multimodal wrappers, nested once or more
        doc = {"text_config": doc}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    code, _, err = cli("render", "acme/fuzz", "--gpu", "mi300x", "--model-config", path, "--no-validate", "-o", "-")
    _expect_one_line(code, err)


hostile_flags = st.one_of(
    st.sampled_from(["--hf-token x", "--hf_token=x", "--api_key x", "--max-model-len 1e30", "--max-model-len -1",
                     "--compilation-config." + ".".join("a" * 40) + "=1", '--cc {"a": {"b": [1, {"c": 2}]}}',
                     "--gpu-memory-utilization four", "--served-model-name hf_" + "a" * 30, "--x " + "9" * 5000]),
    st.text(max_size=16))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.one_of(st.lists(hostile_flags, max_size=4), st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
       env=st.dictionaries(st.sampled_from(["HF_TOKEN", "VLLM_ROCM_USE_AITER", "X_API_KEY", "lower"]), json_values,
                           max_size=2),
       hardware=st.one_of(st.sampled_from(["MI300X", ["MI300X", "MI355X"]]), json_values))
def test_seed_recipes_through_the_cli_never_give_internal_errors(cli, tmp_path, args, env, hardware):
    doc = {"recipe_id": "fuzz", "huggingface_id": "Qwen/Qwen3-8B", "hardware": hardware, "env": env,
           "vllm_serve": {"1_gpu": {"enabled": True, "args": args}}}
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, out, err = cli("recipes", "import", path)
    assert "hf_" + "a" * 30 not in out + err
    if code == 0:
        recipe = tmp_path / "qwen3-8b.yaml"
        recipe.write_text(out)
        code, _, err = cli("recipes", "check", recipe)
        assert code in (0, 1) and "internal error" not in err and "Traceback" not in err, err
        return
    # several problems in one seed are each reported (one line each, with its field), then summed up
    assert code == 1 and "internal error" not in err and "Traceback" not in err, err
    assert all(line.startswith(("error:", "warning:")) for line in err.splitlines() if line.strip()), err
