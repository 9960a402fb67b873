"""From what the container sees to the exact engine command: the AIM environment contract, the detected
GPUs, a profile, the runtime, then argv and env. `plan_launch` is pure; `execute` replaces the process.

The environment contract matches AMD AIM images:
  AIM_MODEL_ID      model to serve (required unless given on the command line)
  AIM_GPU_COUNT     GPUs to use (default: every visible GPU)
  AIM_PRECISION     bf16 | fp8 | ... (default: the profile's)
  AIM_METRIC        latency | throughput
  AIM_PROFILE_ID    run exactly this profile
  AIM_ENGINE_ARGS   JSON object merged over the profile's args ({"max-model-len": 8192}; null removes a flag)
  AIM_CACHE_PATH    model cache mount: the engine's Hugging Face home unless HF_HOME is already set
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from aimgen.errors import InvalidInput, UsageError
from aimgen.findings import ERROR, WARNING, Finding
from aimgen.runtimes.argv import build_argv
from aimgen.launch.detect import Detection
from aimgen.launch.match import CatalogGpu, match_gpu
from aimgen.launch.profiles import ProfileResolver
from aimgen.runtimes.flags import check_engine_config, snapshot_for
from aimgen.runtimes.registry import Runtime

DEFAULT_HOST = "0.0.0.0"


@dataclass(frozen=True)
class LaunchRequest:
    model: str
    gpus: int | None = None
    precision: str | None = None
    metric: str | None = None
    backend: str | None = None
    profile_id: str | None = None
    engine_args: Mapping[str, Any] = field(default_factory=dict, hash=False)
    cache_path: str | None = None
    port: int | None = None
    host: str = DEFAULT_HOST

    @classmethod
    def from_env(cls, env: Mapping[str, str], **given: Any) -> "LaunchRequest":
        """Command-line values (`given`, None when absent) win over AIM_* variables."""

        def pick(key: str, var: str) -> Any:
            value = given.get(key)
            if value is None:
                value = env.get(var) or None
            return value

        model = pick("model", "AIM_MODEL_ID")
        if not model:
            raise UsageError("no model: pass MODEL or set AIM_MODEL_ID")
        gpus = pick("gpus", "AIM_GPU_COUNT")
        try:
            gpus = int(gpus) if gpus is not None else None
        except ValueError:
            raise InvalidInput(f"AIM_GPU_COUNT={gpus!r} is not a whole number") from None
        if gpus is not None and gpus < 1:
            raise InvalidInput(f"AIM_GPU_COUNT={gpus} must be at least 1")
        return cls(
            model=str(model),
            gpus=gpus,
            precision=pick("precision", "AIM_PRECISION"),
            metric=pick("metric", "AIM_METRIC"),
            backend=pick("backend", "AIM_BACKEND"),
            profile_id=pick("profile_id", "AIM_PROFILE_ID"),
            engine_args=parse_engine_args(env.get("AIM_ENGINE_ARGS", "")),
            cache_path=pick("cache_path", "AIM_CACHE_PATH"),
            port=given.get("port"),
            host=given.get("host") or DEFAULT_HOST,
        )


def parse_engine_args(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    from aimgen.yamlio import load_json

    try:
        value = load_json(text, "AIM_ENGINE_ARGS")  # bounded: size and nesting, like every other input
    except InvalidInput as exc:
        raise InvalidInput(f"AIM_ENGINE_ARGS: {exc.message}; expected an object such as "
                           '{"max-model-len": 8192, "enforce-eager": true}') from None
    if not isinstance(value, dict):
        raise InvalidInput("AIM_ENGINE_ARGS must be a JSON object of flag names to values")
    return {str(k).lstrip("-"): v for k, v in value.items()}


@dataclass(frozen=True)
class LaunchPlan:
    runtime: Runtime
    gpu: str  # catalog name
    detection: Detection
    image: str
    args: Mapping[str, Any] = field(hash=False)
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, hash=False)  # what the launcher adds to the environment
    findings: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "env": dict(self.env),
            "runtime": self.runtime.name,
            "engine": f"{self.runtime.engine} {self.runtime.engine_version}",
            "image": self.image,
            "gpu": {"name": self.gpu, **self.detection.as_dict()},
            "findings": [f.as_dict() for f in self.findings],
        }

    def shell(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"env {env} {command}" if env else command


def plan_launch(request: LaunchRequest, detection: Detection, catalog: Iterable[CatalogGpu],
                resolver: ProfileResolver, runtime_lookup: Callable[[str], Runtime],
                base_env: Mapping[str, str] | None = None) -> LaunchPlan:
    base_env = {} if base_env is None else base_env
    gpu = match_gpu(detection, catalog)
    available = detection.count
    if request.gpus is not None and request.gpus > available:
        raise InvalidInput(f"AIM_GPU_COUNT={request.gpus} but only {available} {gpu.name} GPU(s) are visible")
    resolved = resolver(request.model, gpu.name, request.gpus or available, request.precision, request.metric,
                        request.backend, request.profile_id, pinned=request.gpus is not None)
    runtime = runtime_lookup(resolved.runtime_name)
    gfx = detection.first.gfx or gpu.gfx
    image = runtime.image_for(gfx)  # raises if the runtime has no build for this GPU generation
    args = dict(resolved.args)
    for key, value in request.engine_args.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    profile_env = {**runtime.env, **resolved.env}
    if request.cache_path:
        profile_env.setdefault("HF_HOME", request.cache_path)
    # Variables set on the container win over the profile's: operators override by setting them.
    env = {k: str(v) for k, v in profile_env.items() if k not in base_env}
    snapshot = snapshot_for(runtime)
    findings = check_engine_config(runtime, args, profile_env, file="launch", path=resolved.runtime_name)
    # The container's own engine variables are checked too, but only warned about: the engine ignores
    # unknown ones, and the operator set them on purpose.
    own = {k: v for k, v in base_env.items() if k not in profile_env}
    findings += [replace(f, level=WARNING) for f in check_engine_config(runtime, {}, own, file="container", path="")]
    argv = build_argv(runtime, resolved.checkpoint or request.model, args, port=request.port or runtime.port, host=request.host,
                      snapshot=snapshot)
    return LaunchPlan(runtime=runtime, gpu=gpu.name, detection=detection, image=image, args=args,
                      argv=tuple(argv), env=env, findings=tuple(findings))


def errors_of(plan: LaunchPlan) -> list[Finding]:
    return [f for f in plan.findings if f.level == ERROR]


def execute(plan: LaunchPlan, base_env: Mapping[str, str] | None = None) -> None:
    """Replace this process with the engine, so the container's signals reach it directly."""
    env = {**(os.environ if base_env is None else base_env), **plan.env}
    os.execvpe(plan.argv[0], list(plan.argv), env)
