"""Rendering checks a profile's flags and env against the snapshot of the engine the image carries."""

from dataclasses import replace

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import realize
from aimgen.errors import InvalidInput
from aimgen.recipes.load import profiles_for
from aimgen.select import Request, Selection


def _realize_with(args=None, env=None):
    base = next(p for p in profiles_for("Qwen/Qwen3-8B") if p.gpu == "mi300x" and p.backend == "vllm")
    profile = replace(base, args={**base.args, **(args or {})}, env={**base.env, **(env or {})})
    req = Request(get_model(profile.model), default_pool(get_gpu("mi300x")), profile.gpus, profile.precision)
    return realize(Selection(req, profile, profile.gpus, profile.precision, "vllm", profile.metric), "qwen")


@pytest.mark.parametrize("args,env,fragment", [
    ({"max-seq-len-to-capture": 8192}, None, "max-seq-len-to-capture"),
    ({"num-scheduler-steps": 10}, None, "num-scheduler-steps"),
    (None, {"VLLM_USE_TRITON_FLASH_ATTN": "0"}, "VLLM_USE_TRITON_FLASH_ATTN"),
    ({"max-model-len": "lots"}, None, "max-model-len"),
])
def test_removed_or_wrong_engine_settings_fail_with_a_hint(args, env, fragment):
    with pytest.raises(InvalidInput) as err:
        _realize_with(args, env)
    assert fragment in err.value.line()
    assert "profiles[" in err.value.line()


def test_shipped_profile_passes():
    assert _realize_with().serving.args


def test_an_engine_arg_naming_no_registered_parser_is_a_usage_error(cli):
    """--engine-arg goes through the same snapshot check as a profile: vLLM would refuse the name at start-up."""
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--engine-arg", "tool-call-parser=nonsense")
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert "--tool-call-parser=nonsense is not accepted by vllm 0.31.0" in line
    assert "valid names, listed in vllm-rocm/snapshots/vllm-0.31.0.json" in line
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--engine-arg", "reasoning-parser=qwen")
    assert code == 2 and "did you mean qwen3" in err
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--engine-arg", "reasoning-parser=qwen3")
    assert code == 0, err
