"""Hostile and broken inputs (issue 10, items 3, 6, 7): credentials are refused and never copied or printed; alias
bombs, endless files and absurd values are refused with one clear line and exit 1, before any work is done."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
import yaml

from chart_support import HELMS, in_parallel, template

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
SK = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx"
NODE_POOL = ROOT / "recipes" / "node-pools" / "mi300x-8gpu.yaml"
BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi")
)
CONFIG = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
          "max_position_embeddings": 4096, "intermediate_size": 128}


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def _seed(tmp_path: Path, args, env=None, **extra) -> Path:
    doc = {"recipe_id": "t", "huggingface_id": "Qwen/Qwen3-8B", "hardware": "MI300X",
           "vllm_serve": {"1_gpu": {"enabled": True, "args": args}}, **extra}
    if env is not None:
        doc["env"] = env
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


# ------------------------------------------------------------------ item 3: secrets

SEED_SECRETS = {
    "dashed flag": (["--hf-token abc123"], None),
    "underscored flag": (["--hf_token", "abc123"], None),
    "api-key": (["--api-key=abc123"], None),
    "api_key": (["--max-model-len 8192", "--api_key abc123"], None),
    "upper case": (["--HF_TOKEN abc123"], None),
    "admin api key": (["--admin-api-key abc123"], None),
    "mapping form": ({"hf_token": "abc123"}, None),
    "token-shaped value": ([f"--served-model-name {TOKEN}"], None),
    "sk- value": ([f"--tokenizer {SK}"], None),
    "url with password": (["--tokenizer http://user:abc123@mirror/x"], None),
    "HF_TOKEN env": ([], {"HF_TOKEN": "abc123"}),
    "HUGGING_FACE_HUB_TOKEN env": ([], {"HUGGING_FACE_HUB_TOKEN": "abc123"}),
    "API key env": ([], {"VLLM_API_KEY": "abc123"}),
    "token in innocent env": ([], {"VLLM_SETTING": TOKEN}),
}


@pytest.mark.parametrize("case", sorted(SEED_SECRETS))
def test_seed_with_a_secret_is_refused_and_nothing_written(case, cli, tmp_path):
    args, env = SEED_SECRETS[case]
    target = tmp_path / "out" / "recipe.yaml"
    code, out, err = cli("recipes", "import", _seed(tmp_path, args, env), "-o", target)
    assert code == 1 and out == ""
    line = _one_error_line(err)
    assert "--hf-token-secret" in line  # says what to do instead
    assert "abc123" not in err and TOKEN not in err and SK not in err
    assert not target.parent.exists()


def test_seed_with_a_token_anywhere_is_refused(cli, tmp_path):
    code, _, err = cli("recipes", "import", _seed(tmp_path, [], recipe_id=f"x {TOKEN}"))
    assert code == 1 and "recipe_id" in _one_error_line(err) and TOKEN not in err


def test_recipes_check_refuses_credentials(cli, tmp_path):
    doc = yaml.safe_load((ROOT / "recipes" / "models" / "qwen3-8b.yaml").read_text())
    doc["profiles"][0]["args"]["hf_token"] = "abc123"
    doc["profiles"][0]["env"] = {"HF_TOKEN": "abc123"}
    path = tmp_path / "qwen3-8b.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, out, err = cli("recipes", "check", path)
    assert code == 1
    assert "profiles[0].args.hf_token" in out and "profiles[0].env.HF_TOKEN" in out
    assert "abc123" not in out + err


def test_render_refuses_a_profile_that_would_publish_a_credential():
    from aimgen.catalog.gpus import get_gpu
    from aimgen.catalog.models import get_model
    from aimgen.catalog.nodepool import default_pool
    from aimgen.compose import realize
    from aimgen.errors import InvalidInput
    from aimgen.recipes.load import profiles_for
    from aimgen.select import Request, select

    # --api-key is a real vLLM flag, so the engine check passes it: the last look before the manifest must not.
    profile = next(p for p in profiles_for("Qwen/Qwen3-8B") if p.gpu == "mi300x")
    leaky = dataclasses.replace(profile, args={**profile.args, "api-key": "abc123"})
    request = Request(get_model("Qwen/Qwen3-8B"), default_pool(get_gpu("mi300x")), gpus=leaky.gpus,
                      precision=leaky.precision, backend=leaky.backend, metric=leaky.metric)
    with pytest.raises(InvalidInput, match="--hf-token-secret") as exc:
        realize(select(request, [leaky]), "qwen")
    assert "abc123" not in exc.value.line()


def test_rendered_manifests_and_values_hold_no_token(cli):
    from aimgen import secrets

    for fmt in ("kserve", "values"):
        code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--hf-token-secret", "hf:token",
                             "--prefetch-job", "--format", fmt, "--no-validate")
        assert code == 0, err
        assert not secrets.looks_like_secret(out)


def test_secret_rules():
    from aimgen import secrets

    for flag in ("hf-token", "--hf_token", "api_key", "--api-key=x", "--HF-TOKEN", "admin-api-key",
                 "ssl-keyfile-password", "api_key.field"):
        assert secrets.is_secret_flag(flag), flag
    for flag in ("tokenizer", "max-num-batched-tokens", "allow-credentials", "ssl-keyfile", "speculative-token-map"):
        assert not secrets.is_secret_flag(flag), flag
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "VLLM_API_KEY", "S3_SECRET_ACCESS_KEY"):
        assert secrets.is_secret_env(name), name
    for name in ("SGLANG_MAX_THINK_TOKENS", "S3_ACCESS_KEY_ID", "VLLM_ROCM_USE_AITER"):
        assert not secrets.is_secret_env(name), name
    assert secrets.redact_url("http://u:hf_x@mirror:8080/api") == "http://***@mirror:8080/api"
    assert secrets.redact_url("https://huggingface.co") == "https://huggingface.co"
    assert secrets.redact(f"GET http://me:pw@h/x with {TOKEN} and Bearer abc.def") == \
        "GET http://***@h/x with *** and Bearer ***"


def test_endpoint_credentials_never_reach_a_message():
    from aimgen.cache.remote import Remote, _Transport
    from aimgen.cache.retry import RetryPolicy

    remote = Remote(endpoint="http://u:hf_x@127.0.0.1:9", token=None, timeout=1.0, policy=RetryPolicy())
    line = remote.translate(_Transport("connection refused to http://u:hf_x@127.0.0.1:9"), "Qwen/Qwen3-8B").line()
    assert "hf_x" not in line and "127.0.0.1" in line


def test_console_redacts_every_line():
    import io

    from aimgen.console import Console

    stream = io.StringIO()
    Console(stream, "json").error(f"failed at http://u:pw@mirror with {TOKEN}", url="http://u:pw@mirror")
    assert "pw@" not in stream.getvalue() and TOKEN not in stream.getvalue()


def _inline_profile_values(args: list[str], env: dict) -> dict:
    doc = yaml.safe_load((ROOT / "tests" / "cases" / "chart-invalid" / "plaintext-token-engine-flag.yaml").read_text())
    doc["deployments"][0]["profile"]["args"] = ["example/Tiny", *args]
    doc["deployments"][0]["profile"]["env"] = env
    return doc


CHART_SECRETS = {
    "hf_token": (["--hf_token=abc123"], {}),
    "api_key": (["--api_key", "abc123"], {}),
    "HF_TOKEN flag": (["--HF_TOKEN=abc123"], {}),
    "admin_api_key": (["--admin_api_key=abc123"], {}),
    "sk- value": (["--tokenizer", SK], {}),
    "url with password": (["--tokenizer=http://u:abc123@mirror/x"], {}),
    "secret env name": ([], {"S3_SECRET_ACCESS_KEY": "abc123"}),
    "sk- env value": ([], {"MY_SETTING": SK}),
}


@pytest.mark.parametrize("which", sorted(HELMS))
def test_chart_refuses_every_token_spelling(which, tmp_path):
    files = []
    for name, (args, env) in sorted(CHART_SECRETS.items()):
        path = tmp_path / f"{name.replace(' ', '-')}.yaml"
        path.write_text(yaml.safe_dump(_inline_profile_values(args, env)))
        files.append(path)
    control = tmp_path / "control.yaml"
    control.write_text(yaml.safe_dump(_inline_profile_values(["--max-model-len=8192"], {"VLLM_X": "1"})))
    results = dict(in_parallel(lambda f: (f.name, template(which, "t", values_files=[f])), [control, *files]))
    assert results.pop("control.yaml").returncode == 0
    accepted = [name for name, r in results.items() if r.returncode == 0]
    assert not accepted, f"{which} accepted: {accepted}"


def test_chart_schema_patterns_come_from_the_one_rule():
    from aimgen.secrets import schema_patterns

    schema = json.loads((ROOT / "charts" / "aim-engine" / "values.schema.json").read_text())
    for name, refused in schema_patterns().items():
        assert schema["definitions"][name]["not"] == refused, name


# ------------------------------------------------------------------ item 6: limits on every input

def test_alias_bomb_limits_trip_before_anything_is_built(monkeypatch):
    from aimgen import yamlio
    from aimgen.errors import InvalidInput

    def never(*_):
        raise AssertionError("the document was composed")

    monkeypatch.setattr(yamlio._LineLoader, "get_single_node", never)
    with pytest.raises(InvalidInput, match="aliases expand to more than"):
        yamlio.load_with_lines(BILLION_LAUGHS, "bomb.yaml")
    with pytest.raises(InvalidInput, match="refers to the collection it is inside"):
        yamlio.load_with_lines("a: &a [1, *a]\n", "loop.yaml")
    with pytest.raises(InvalidInput, match="nested deeper than"):
        yamlio.load_with_lines("a: " + "[" * 500 + "]" * 500, "deep.yaml")


def test_a_few_aliases_are_still_fine():
    from aimgen.yamlio import load_with_lines

    data, _ = load_with_lines("base: &b {x: 1}\none: *b\ntwo: {<<: *b, y: 2}\n", "ok.yaml")
    assert data["two"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("where", ["node pool", "seed recipe", "validate"])
def test_billion_laughs_is_refused_with_one_line(where, cli, tmp_path):
    path = tmp_path / "bomb.yaml"
    if where == "node pool":
        path.write_text(BILLION_LAUGHS + "name: x\ngpu: mi300x\n")
        code, _, err = cli("render", "Qwen/Qwen3-8B", "--node-pool", path, "--no-validate")
    elif where == "seed recipe":
        path.write_text(BILLION_LAUGHS + "huggingface_id: Qwen/Qwen3-8B\n")
        code, _, err = cli("recipes", "import", path)
    else:
        path.write_text(BILLION_LAUGHS + "apiVersion: v1\nkind: ConfigMap\n")
        code, _, err = cli("validate", path)
        err = next(line for line in err.splitlines() if "YAML001" in line or "alias" in line)
    assert code == 1
    assert "aliases expand to more than" in _one_error_line(err)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path  # no writer ever opens it: a blocking open or read would never return


@pytest.mark.parametrize("option", ["--node-pool", "--model-config"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
def test_special_files_are_refused_without_reading(option, special, cli, fifo, tmp_path):
    path = {"/dev/zero": "/dev/zero", "fifo": fifo, "directory": tmp_path}[special]
    code, out, err = cli("render", "acme/x", "--gpu", "mi300x", option, path, "--no-validate")
    assert code == 1 and out == ""
    line = _one_error_line(err)
    assert ("not a regular file" if special != "directory" else "is a directory") in line


def test_validate_refuses_a_fifo_as_a_finding(cli, fifo):
    code, _, err = cli("validate", fifo)
    assert code == 1 and "not a regular file" in err


def test_oversized_input_is_refused_before_it_is_read(cli, tmp_path):
    from aimgen.yamlio import MAX_DOCUMENT_CHARS

    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(MAX_DOCUMENT_CHARS + 1)  # sparse: no disk used
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--node-pool", path, "--no-validate")
    assert code == 1 and "larger than" in _one_error_line(err)


# ------------------------------------------------------------------ item 7: clear lines, never "internal error"

MODEL_CONFIGS = {
    "quantization_config list": ({**CONFIG, "quantization_config": [1]}, "quantization_config"),
    "text_config list": ({**CONFIG, "text_config": [1]}, "text_config"),
    "text_config string": ({"text_config": "abc"}, "text_config"),
    "bits four": ({**CONFIG, "quantization_config": {"quant_method": "awq", "bits": "four"}}, "bits"),
    "layers 1e30": ({**CONFIG, "num_hidden_layers": 1e30}, "num_hidden_layers"),
    "layers 10**30": ({**CONFIG, "num_hidden_layers": 10**30}, "num_hidden_layers"),
    "hidden size 2**40": ({**CONFIG, "hidden_size": 2**40}, "hidden_size"),
}


@pytest.mark.parametrize("case", sorted(MODEL_CONFIGS))
def test_bad_model_config_fields_are_named(case, cli, tmp_path):
    doc, field = MODEL_CONFIGS[case]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    code, _, err = cli("render", "acme/x", "--gpu", "mi300x", "--model-config", path, "--no-validate")
    assert code == 1
    line = _one_error_line(err)
    assert "config.json" in line and field in line


@pytest.mark.parametrize("depth", [150, 5000])
def test_deeply_nested_model_config_is_refused(depth, cli, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG)[:-1] + ', "quantization_config": ' + '{"a": ' * depth + "1" + "}" * depth + "}")
    code, _, err = cli("render", "acme/x", "--gpu", "mi300x", "--model-config", path, "--no-validate")
    assert code == 1 and "nested deeper than" in _one_error_line(err)


def test_seed_with_a_5000_level_dotted_flag(cli, tmp_path):
    flag = "--compilation-config." + ".".join(["a"] * 5000) + "=1"
    code, _, err = cli("recipes", "import", _seed(tmp_path, [flag]))
    assert code == 1 and "levels deep" in _one_error_line(err)


def test_seed_with_a_deep_json_value_stays_clean(cli, tmp_path):
    code, _, err = cli("recipes", "import", _seed(tmp_path, ['--compilation-config ' + '{"a":' * 5000 + "1" + "}" * 5000]))
    assert code in (0, 1)
    assert "internal error" not in err and "Traceback" not in err


def test_an_endless_integer_is_refused_with_its_line(cli, tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text("name: x\ngpu: mi300x\nnodes: " + "9" * 5000 + "\n")
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--node-pool", path, "--no-validate")
    assert code == 1 and "line 3: a number of more than 4,300 digits" in _one_error_line(err)


def test_engine_args_env_of_the_launcher_is_bounded():
    from aimgen.errors import InvalidInput
    from aimgen.launch.plan import parse_engine_args

    with pytest.raises(InvalidInput, match="nested deeper than"):
        parse_engine_args('{"a": ' * 5000 + "1" + "}" * 5000)


def test_output_to_a_fifo_is_written_through_not_replaced(tmp_path):
    import stat
    import threading

    from aimgen.output import write_artifact

    path = tmp_path / "out.fifo"
    os.mkfifo(path)
    got = []
    reader = threading.Thread(target=lambda: got.append(path.read_text()))
    reader.start()
    write_artifact("kind: x\n", str(path))
    reader.join()
    assert got == ["kind: x\n"]
    assert stat.S_ISFIFO(path.stat().st_mode)  # as root, an atomic replace would have swapped /dev/null too


def test_autoscale_beyond_int32_is_a_usage_error(cli):
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--autoscale", f"1:{2**40}", "--no-validate")
    assert code == 2 and "--autoscale" in _one_error_line(err)


BAD_CLI = [
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--gpus", "-1"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--gpus", "abc"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--gpus", "9" * 30),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--max-model-len", "9" * 30),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--max-model-len", "1e30"),
    ("render", "Qwen/Qwen3-8B", "--gpu", ""),
    ("render", "", "--gpu", "mi300x"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--precision", "fp9"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--backend", "x"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--metric", "x"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--autoscale", "5:1"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--format", "xml"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--namespace", "Bad_NS"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--name", "a" * 300),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--hf-token-secret", TOKEN),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--node-pool", "/etc/passwd"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--model-config", "/etc/passwd"),
    ("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--kube-version", "abc"),
    ("explain", "nope", "--gpu", "mi300x"),
    ("recipes", "import", "/dev/null"),
    ("recipes", "import", "/etc"),
    ("recipes", "check", "/etc/passwd"),
    ("list", "nothing"),
]


@pytest.mark.parametrize("argv", BAD_CLI, ids=lambda a: " ".join(a)[:60])
def test_bad_cli_input_is_exit_1_or_2_with_one_line(argv, cli):
    code, _, err = cli(*argv)
    assert code in (1, 2), err
    if argv[:2] != ("recipes", "check"):  # check lists each finding on stdout, then one summary line
        _one_error_line(err)
    assert TOKEN not in err


def test_a_message_stays_one_line_whatever_the_input_holds(cli, tmp_path):
    path = _seed(tmp_path, {"a\nb\x1e\x1b[31m": [1]})
    code, _, err = cli("recipes", "import", path)
    assert code == 1 and "\x1b" not in err
    assert "a\\nb\\x1e\\x1b[31m" in _one_error_line(err)
