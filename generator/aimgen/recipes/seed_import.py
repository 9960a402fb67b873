"""Convert a seed recipe (the format of the original project) into our recipe document.

Seed shape, read liberally::

    recipe_id: llama-3.1-8b-mi300x
    huggingface_id: meta-llama/Llama-3.1-8B-Instruct
    precision: bf16                      # bfloat16, FP8, float8, mxfp4, ...; default bf16
    hardware: MI300X                     # or "AMD Instinct MI300X", mi300x, or a list
    env: {VLLM_ROCM_USE_AITER: "1"}      # optional, for every entry
    vllm_serve:                          # or sglang_serve
      1_gpu: {enabled: true, args: ["--max-model-len 32768", "--enforce-eager"]}
      8_gpu: {enabled: false, args: {max-num-seqs: 256}}

Output is strict: a schema-valid recipe (one profile per enabled entry and GPU), metric latency unless an
entry says otherwise, and every change we made to the input reported as a finding. Pure: the GPU and
model catalogs are passed in, nothing is read or written here.
"""

from __future__ import annotations

import copy
import math
import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.constants import METRICS
from aimgen.errors import InvalidInput
from aimgen import secrets
from aimgen.findings import ERROR, WARNING, Finding, json_path
from aimgen.loading import InvalidDocument
from aimgen.yamlio import load_json
from aimgen.recipes.engine_rules import (ENGINE_ENV_PREFIXES, PP_FLAGS, QUICK_REDUCE_ENV, REMOVED_VLLM_ENV, REMOVED_VLLM_FLAGS,
                                         SERVER_FLAGS, TP_FLAGS)

MODEL_ID = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[-A-Za-z0-9_.]+$")
FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
GPU_COUNTS = (1, 2, 4, 8, 16, 32)
# `--compilation-config.pass_config.x=v` nests one level per dot; real engine configs go three or four deep.
MAX_DOTTED_DEPTH = 16

PRECISION_ALIASES = {
    "bf16": "bf16", "bfloat16": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16",
    "fp8": "fp8", "float8": "fp8", "fp8_e4m3": "fp8", "fp8-kv": "fp8", "w8a8-fp8": "fp8",
    "int8": "int8", "w8a8": "int8",
    "int4": "int4", "awq": "int4", "gptq": "int4", "w4a16": "int4",
    "mxfp4": "mxfp4", "fp4": "mxfp4",
}

BACKEND_SECTIONS = {"vllm_serve": "vllm", "sglang_serve": "sglang"}

SHORT_FLAGS = {"tp": "tensor-parallel-size", "pp": "pipeline-parallel-size", "dp": "data-parallel-size",
               "q": "quantization", "cc": "compilation-config", "o": "optimization-level"}
LAUNCH_WORDS = {"vllm", "serve", "python", "python3", "-m", "sglang.launch_server", "vllm.entrypoints.openai.api_server"}


@dataclass(frozen=True)
class SeedImport:
    recipe: dict
    findings: tuple[Finding, ...]


class _Report:
    """Findings for one seed document, all pointing into the same file."""

    def __init__(self, source: str, code: str = "SEED"):
        self.source = source
        self.code = code
        self.items: list[Finding] = []

    def error(self, path: str, message: str) -> None:
        self.items.append(Finding(ERROR, self.code, self.source, path, message))

    def warn(self, path: str, message: str) -> None:
        self.items.append(Finding(WARNING, self.code, self.source, path, message))

    @property
    def failed(self) -> bool:
        return any(f.level == ERROR for f in self.items)


# ------------------------------------------------------------------ scalar helpers

def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(raw: str) -> Any:
    """A CLI value as the recipe stores it: int, float, JSON object, or the string itself."""
    text = raw.strip()
    if re.fullmatch(r"[+-]?\d{1,18}", text):  # longer digit strings are no engine setting: kept as text
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)", text) and math.isfinite(float(text)):
        return float(text)
    if text.startswith("{"):
        try:
            parsed = load_json(text, "")  # bounded: a 5,000-deep object stays the string it was
        except InvalidInput:
            return raw
        if isinstance(parsed, dict):
            return parsed
    return raw


def _short(value: Any) -> str:
    """A user's value as a message quotes it: one line, at most 60 characters."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _flag_name(raw: str) -> str:
    name = raw.lstrip("-").strip().lower().replace("_", "-")
    if raw.startswith("-") and not raw.startswith("--"):
        name = SHORT_FLAGS.get(name, name)
    return name


def _set_dotted(args: dict, dotted: str, value: Any) -> None:
    """`compilation-config.pass_config.x=v` → args["compilation-config"]["pass_config"]["x"] = v (engine JSON keys keep underscores)."""
    head, *rest = dotted.split(".")
    node = args.get(head)
    if not isinstance(node, dict):
        node = {}
        args[head] = node
    for part in rest[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    node[rest[-1]] = value


# ------------------------------------------------------------------ args

def _tokens(raw: Any, where: str, report: _Report) -> list[str] | None:
    """Flatten the list form (each item a string with one or more flags, or a bare value) into argv tokens."""
    items = raw if isinstance(raw, list) else [raw]
    tokens: list[str] = []
    for i, item in enumerate(items):
        if item is None:
            continue
        if isinstance(item, (dict, list)):
            report.error(f"{where}[{i}]", f"expected a CLI string such as '--max-model-len 32768', got {type(item).__name__}")
            return None
        if isinstance(item, str):
            try:
                tokens.extend(shlex.split(item))
            except ValueError as exc:
                report.error(f"{where}[{i}]", f"cannot split {_short(item)} into arguments ({exc})")
                return None
        else:
            tokens.append(_text(item))
    return tokens


def _args_from_tokens(tokens: list[str], where: str, skip_values: set[str], report: _Report) -> list[tuple[str, Any]] | None:
    pairs: list[tuple[str, Any]] = []
    i = 0
    while i < len(tokens) and (tokens[i] in LAUNCH_WORDS or tokens[i] in skip_values):
        i += 1  # a pasted command line: `vllm serve <model>` is rendered by aimgen
    if i:
        report.warn(where, f"dropped {_short(' '.join(tokens[:i]))}: the command and model are rendered by aimgen")
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-") or re.fullmatch(r"-\d.*", tok):
            report.error(where, f"value {_short(tok)} does not follow a flag; write each flag as '--name value'")
            return None
        opt_level = re.fullmatch(r"-O=?(\w+)", tok)
        if opt_level:  # vLLM's -O3 / -O=3 shorthand
            pairs.append(("--optimization-level", _scalar(opt_level.group(1))))
            i += 1
            continue
        name, sep, inline = tok.partition("=")
        if sep:
            value: Any = _scalar(inline)
            i += 1
        elif i + 1 < len(tokens) and not (tokens[i + 1].startswith("-") and not re.fullmatch(r"-\d.*", tokens[i + 1])):
            value = _scalar(tokens[i + 1])
            i += 2
            if i < len(tokens) and not tokens[i].startswith("-"):
                report.error(where, f"flag {name} has several values ({_short(tokens[i - 1])}, {_short(tokens[i])}); the recipe format holds one value per flag")
                return None
        else:
            value = True
            i += 1
        pairs.append((name, value))
    return pairs


def _arg_pairs(raw: Any, where: str, skip_values: set[str], report: _Report) -> list[tuple[str, Any]] | None:
    if raw is None:
        return []
    if isinstance(raw, dict):
        pairs = []
        for key, value in raw.items():
            key_text = _text(key)
            name = key_text if key_text.startswith("-") else f"--{key_text}"
            if problem := secrets.arg_problem(name, value):
                report.error(f"{where}.{key_text}", problem)
                return None
            if value is None:
                value = True
            elif isinstance(value, list):
                report.error(f"{where}.{key_text}", "a list value cannot be expressed as one engine flag; give a single value")
                return None
            elif isinstance(value, str):
                value = _scalar(value)
            elif not isinstance(value, (bool, int, float, dict)):
                report.error(f"{where}.{key_text}", f"unsupported value type {type(value).__name__}")
                return None
            pairs.append((name, value))
        return pairs
    if isinstance(raw, (list, str)):
        tokens = _tokens(raw, where, report)
        if tokens is not None and (problem := secrets.argv_problem(tokens)):
            report.error(where, problem)  # before any message that would quote a token
            return None
        return None if tokens is None else _args_from_tokens(tokens, where, skip_values, report)
    report.error(where, f"args must be a list of CLI strings or a mapping, got {type(raw).__name__}")
    return None


def _normalise_args(pairs: list[tuple[str, Any]], gpus: int, backend: str, where: str, report: _Report) -> dict | None:
    args: dict[str, Any] = {}
    for raw_name, value in pairs:
        name = _flag_name(raw_name)
        if "." in name:
            head = _flag_name(raw_name.split(".", 1)[0])
            dotted = raw_name.lstrip("-").split(".", 1)[1]
            if not FLAG_NAME.match(head) or not all(dotted.split(".")):
                report.error(where, f"cannot read flag {_short(raw_name)}")
                return None
            if dotted.count(".") >= MAX_DOTTED_DEPTH:
                report.error(where, f"flag --{head} sets a field {dotted.count('.') + 1} levels deep; engine JSON "
                                    f"options nest at most {MAX_DOTTED_DEPTH} (write the option as one JSON value)")
                return None
            _set_dotted(args, f"{head}.{dotted}", value)
            continue
        if not FLAG_NAME.match(name):
            report.error(where, f"{_short(raw_name)} is not a valid flag name (letters, digits and dashes)")
            return None
        if name in TP_FLAGS or name in PP_FLAGS:
            size = value if isinstance(value, int) and not isinstance(value, bool) else None
            if name in TP_FLAGS and size != gpus:
                report.error(where, f"--{name} {_text(value)} does not match the entry's {gpus} GPU(s); tensor parallelism comes from the entry key")
                return None
            if name in PP_FLAGS and size != 1:
                report.error(where, f"--{name} {_text(value)}: pipeline parallelism is not importable; write a multi-node recipe by hand (nodes:)")
                return None
            continue  # implied by the key
        if name in SERVER_FLAGS:
            report.warn(where, f"dropped --{name}: aimgen renders it from the deployment")
            continue
        if backend == "vllm" and name in REMOVED_VLLM_FLAGS:
            report.warn(where, f"dropped --{name}: not a flag of current vLLM ({REMOVED_VLLM_FLAGS[name]})")
            continue
        if name == "trust-remote-code":
            report.warn(where, "dropped --trust-remote-code: add it back with trust_remote_code: {reason: ...} if the model needs it")
            continue
        if value is False or (isinstance(value, str) and value.lower() == "false"):
            report.warn(where, f"--{name}=false written as the engine's negative flag no-{name}")
            name, value = f"no-{name}", True
        elif isinstance(value, str) and value.lower() == "true":
            value = True
        if name in args:
            report.warn(where, f"--{name} given twice; the last value ({_text(value)}) wins")
        args[name] = value
    return args


# ------------------------------------------------------------------ env

def _env(raw: Any, gpus: int, backend: str, where: str, entry: str, report: _Report) -> dict | None:
    if raw is None:
        return {}
    items: list[tuple[Any, Any]]
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and "name" in entry:
                items.append((entry["name"], entry.get("value", "")))
            elif isinstance(entry, str) and "=" in entry:
                items.append(tuple(entry.split("=", 1)))
            else:
                report.error(f"{where}[{i}]", "expected NAME=value or {name: NAME, value: ...}")
                return None
    else:
        report.error(where, f"env must be a mapping of NAME: value, got {type(raw).__name__}")
        return None
    env: dict[str, str] = {}
    for name, value in items:
        name = _text(name).strip()
        if not ENV_NAME.match(name):
            report.error(f"{where}.{name}", f"{_short(name)} is not a valid environment variable name (upper case, digits, _)")
            return None
        if problem := secrets.env_problem(name, value):
            report.error(f"{where}.{name}", problem)
            return None
        if backend == "vllm" and name in REMOVED_VLLM_ENV:
            report.warn(f"{where}.{name}", f"dropped for {entry}: current vLLM no longer reads {name}")
            continue
        if name in QUICK_REDUCE_ENV and gpus == 1:
            report.warn(f"{where}.{name}", f"dropped for {entry}: quick-reduce only applies when GPUs communicate (gpus > 1)")
            continue
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (dict, list)):
            report.error(f"{where}.{name}", "an environment value must be a string or number")
            return None
        env[name] = _text(value)
    return env


# ------------------------------------------------------------------ top level

def _gpu_key(raw: Any) -> int | None:
    match = re.search(r"\d+", _text(raw))
    return int(match.group()) if match else None


def _resolve_gpus(raw: Any, override: str | None, gpus: Mapping[str, Gpu], report: _Report) -> list[Gpu]:
    def one(name: str, field: str) -> Gpu | None:
        key = re.sub(r"[\s_-]", "", name.lower())
        key = key.removeprefix("amd").removeprefix("instinct")
        if key in gpus:
            return gpus[key]
        report.error(field, f"unknown hardware {_short(name)}; known GPUs: {', '.join(sorted(gpus))} (or pass --gpu)")
        return None

    if override:
        found = one(override, "--gpu")
        return [found] if found else []
    if raw is None:
        report.error("hardware", "missing; say which GPU the seed is for (e.g. hardware: MI300X) or pass --gpu")
        return []
    names = raw if isinstance(raw, list) else [raw]
    out = []
    for i, name in enumerate(names):
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            report.error("hardware", f"expected a GPU name such as MI300X, got {type(name).__name__}")
            continue
        found = one(_text(name), f"hardware[{i}]" if isinstance(raw, list) else "hardware")
        if found and found not in out:
            out.append(found)
    return out


def _precision(raw: Any, native: str | None, report: _Report) -> str | None:
    key = "auto" if raw is None else _text(raw).strip().lower()
    if key == "auto":
        chosen = native or "bf16"
        report.warn("precision", f"{'missing' if raw is None else 'auto'}; using {chosen}" + (" (what the weights are)" if native else ""))
        return chosen
    if key in PRECISION_ALIASES:
        return PRECISION_ALIASES[key]
    report.error("precision", f"unknown precision {_short(_text(raw))}; use one of: bf16, fp16, fp8, int8, int4, mxfp4")
    return None


def _model(hf_id: Any, models: Mapping[str, CatalogModel] | None, report: _Report) -> tuple[str | None, str | None]:
    """(catalog model, checkpoint): a seed that names a pre-quantized repo maps back to its catalog model."""
    if not isinstance(hf_id, str) or not MODEL_ID.match(hf_id.strip()):
        report.error("huggingface_id", f"expected a Hugging Face id like org/name, got {_short(hf_id)}")
        return None, None
    hf_id = hf_id.strip()
    if models is None or hf_id in models:
        return hf_id, None
    for m in models.values():
        if hf_id in m.checkpoints.values():
            report.warn("huggingface_id", f"{hf_id} is a checkpoint of catalog model {m.id}; written as model + checkpoint")
            return m.id, hf_id
    report.warn("huggingface_id", f"{hf_id} is not in the model catalog; add it to recipes/catalog/models.yaml before using the recipe")
    return hf_id, None


def convert_seed(
    data: Any,
    *,
    gpus: Mapping[str, Gpu],
    models: Mapping[str, CatalogModel] | None = None,
    source: str = "<seed>",
    gpu: str | None = None,
) -> SeedImport:
    """Seed document → recipe document. Raises InvalidDocument with every error found; warnings come back."""
    report = _Report(source)
    if not isinstance(data, dict):
        raise InvalidInput(f"a seed recipe is a mapping with huggingface_id, hardware and vllm_serve; got {type(data).__name__}", file=source)
    leaked = secrets.secret_paths(data)
    if leaked:  # anywhere (recipe_id, a comment-like field, an arg): nothing of the seed is copied
        raise InvalidInput(f"a token-shaped value or a URL with a password is refused; {secrets.INSTEAD}",
                           file=source, path=json_path(leaked[0]))

    model, checkpoint = _model(data.get("huggingface_id"), models, report)
    known = (models or {}).get(model or "")
    # what the weights are: the model's own precision, or the one the catalog files the pre-quantized repo under
    native = known.native_precision if known else None
    if known and checkpoint:
        native = next(k for k, v in known.checkpoints.items() if v == checkpoint)
    precision = _precision(data.get("precision"), native, report)
    if checkpoint and precision and native and precision != native:
        report.error("precision", f"{precision} contradicts {checkpoint}, which the model catalog lists as its {native} checkpoint")
        precision = None
    targets = _resolve_gpus(data.get("hardware"), gpu, gpus, report)
    recipe_id = data.get("recipe_id")
    if recipe_id is None or isinstance(recipe_id, (dict, list)):
        report.warn("recipe_id", "missing; the source title uses the Hugging Face id instead")
        recipe_id = data.get("huggingface_id") if isinstance(data.get("huggingface_id"), str) else "unnamed"
    recipe_id = _text(recipe_id)

    sections = [(k, b) for k, b in BACKEND_SECTIONS.items() if k in data]
    if not sections:
        report.error("vllm_serve", "missing; a seed recipe lists its launch settings under vllm_serve: {1_gpu: {...}, ...}")
    skip_values = {v for v in (data.get("huggingface_id"), model, checkpoint) if isinstance(v, str)}
    common_env_raw = data.get("env")

    profiles: list[dict] = []
    seen: dict[tuple, str] = {}
    for section, backend in sections:
        entries = data[section]
        if not isinstance(entries, dict):
            report.error(section, f"expected a mapping like {{1_gpu: {{enabled: true, args: [...]}}}}, got {type(entries).__name__}")
            continue
        for key, entry in entries.items():
            where = f"{section}.{key}"
            count = _gpu_key(key)
            if count not in GPU_COUNTS:
                report.error(where, f"cannot read a GPU count from {_short(key)}; use keys like 1_gpu, 2_gpu, 4_gpu, 8_gpu")
                continue
            if isinstance(entry, (list, str)):
                entry = {"args": entry}
            elif entry is None:
                entry = {}
            if not isinstance(entry, dict):
                report.error(where, f"expected {{enabled: ..., args: [...]}}, got {type(entry).__name__}")
                continue
            enabled = entry.get("enabled", True)
            if isinstance(enabled, str):
                enabled = enabled.strip().lower() in ("true", "yes", "on", "1")
            if not enabled:
                continue
            metric = _text(entry.get("metric", "latency")).lower()
            if metric not in METRICS:
                report.error(f"{where}.metric", f"{_short(metric)} is not one of: {', '.join(METRICS)}")
                continue
            pairs = _arg_pairs(entry.get("args"), f"{where}.args", skip_values, report)
            args = None if pairs is None else _normalise_args(pairs, count, backend, f"{where}.args", report)
            common_env = _env(common_env_raw, count, backend, "env", where, report)
            own_env = _env(entry.get("env"), count, backend, f"{where}.env", where, report)
            if args is None or common_env is None or own_env is None or precision is None:
                continue
            env = {**common_env, **own_env}
            for target in targets:
                if not runnable(target, precision, known):
                    report.error("precision", f"{target.product} ({target.gfx}) cannot run {precision}; use bf16 or a GPU that supports it")
                    continue
                profile_key = (target.name, count, precision, backend, metric)
                if profile_key in seen:
                    report.error(where, f"same GPU count and metric as {seen[profile_key]}; keep one of them")
                    continue
                seen[profile_key] = where
                profile: dict[str, Any] = {"gpu": target.name, "gpus": count, "precision": precision, "backend": backend, "metric": metric}
                if checkpoint:
                    profile["checkpoint"] = checkpoint
                profile["args"] = copy.deepcopy(args)  # shared nested objects would be dumped as YAML anchors
                if env:
                    profile["env"] = dict(env)
                profile["source"] = {"title": f"imported from seed recipe {recipe_id}"}
                unexplained = [n for n in env if not n.startswith(ENGINE_ENV_PREFIXES)]
                if unexplained:
                    # recipes say why non-engine env is set (docs/recipes.md); the seed never did, so the note says so
                    names = ", ".join(unexplained)
                    report.warn(f"{where}.env", f"{names}: not an engine setting; write why it is needed in source.note")
                    profile["source"]["note"] = f"{names} kept from the seed, which gives no reason for it."
                profiles.append(profile)

    if not profiles and not report.failed:
        report.error(sections[0][0] if sections else "vllm_serve", "no enabled entries: nothing to import")
    if report.failed:
        # dedupe: the same env problem is reported once per entry it applies to
        raise InvalidDocument(list(dict.fromkeys(f for f in report.items if f.level == ERROR)))
    recipe = {"model": model, "description": f"Imported from seed recipe {recipe_id}.", "profiles": profiles}
    return SeedImport(recipe, tuple(dict.fromkeys(report.items)))
