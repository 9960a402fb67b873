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
    assert code in (0, 1, 2, 3, 4)
    assert "Traceback" not in err
    if code:
        assert len([l for l in err.splitlines() if l.strip()]) == 1, err
