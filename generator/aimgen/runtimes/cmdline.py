"""Read an engine command line back the way the engine's own parser will, from its snapshot: what a serving
container will actually run with (defaults included), and where it will listen.

Pure. `aimgen validate` reads rendered and hand-edited pods with it; the replay tests' stand-in engine parses its
argv with it. The snapshot is the real parser's option table (scripts/snapshot_engine.py), so a flag the engine
does not know is a problem here as it is there (argparse: "unrecognized arguments").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from aimgen.runtimes.flags import unaccepted
from aimgen.runtimes.registry import Runtime, default_runtime, discover
from aimgen.runtimes.snapshot import Option, Snapshot, load_snapshot

# The address that reaches the pod from the kubelet's probes and from Services: every interface.
ALL_INTERFACES = "0.0.0.0"
# Bind addresses that listen on every interface. None and "" are what an engine without --host binds when its
# server passes `host or ""` to socket.bind (vLLM: vllm/entrypoints/openai/api_server.py, `(args.host or "", args.port)`).
_EVERYWHERE = (None, "", "0.0.0.0", "::", "[::]")
_VERSION = re.compile(r"(?<![0-9])v?(\d+\.\d+\.\d+)(?![0-9])")
_HUMAN = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgGtT]?)$")


def listens_everywhere(host: Any) -> bool:
    return host in _EVERYWHERE


def default_host(runtime: Runtime, snapshot: Snapshot | None) -> Any:
    """The engine's bind address when no --host is given, from its snapshot (SGLang 0.5: 127.0.0.1; vLLM: None)."""
    option = snapshot.option(runtime.flag("host")) if snapshot and runtime.flag("host") else None
    return option.default if option else None


def host_to_pass(runtime: Runtime, snapshot: Snapshot | None) -> str | None:
    """--host value a pod must pass so probes on the pod IP reach the engine; None when the default already does."""
    return None if listens_everywhere(default_host(runtime, snapshot)) else ALL_INTERFACES


def runtime_for_command(command: Sequence[str] | None, image: str | None = None) -> Runtime | None:
    """The runtime whose launch command a container runs (vllm serve, python3 -m sglang.launch_server). Where
    several runtimes share the command (sglang-rocm and sglang-0516-rocm), the one whose images include `image`,
    else one with a snapshot of the engine version the image names, else the backend's default."""
    if not command:
        return None
    words = tuple(command)
    matching = [r for r in discover().values() if words == tuple(r.command)]
    version = image_engine_version(image)

    def rank(runtime: Runtime) -> tuple:
        return (not runtime.pins(image), version not in runtime.snapshots(),
                default_runtime(runtime.backend) is not runtime, runtime.name)

    return min(matching, key=rank, default=None)


def image_engine_version(image: str | None) -> str | None:
    """The engine release an image tag names (v0.31.0, v0.5.12-rocm700-mi30x); None when pinned by digest only."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    found = _VERSION.search(tag)
    return found.group(1) if found else None


def engine_version_of(runtime: Runtime, image: str | None) -> str | None:
    """The engine version a container of `runtime` runs: the runtime's pin when the image is one it pins (a dated
    nightly tag such as rocm/atom-dev:nightly_202608201032 names no release), else what the tag names."""
    if runtime.pins(image):
        return runtime.engine_version
    return image_engine_version(image)


def snapshot_of_version(runtime: Runtime, version: str | None) -> Snapshot | None:
    path = runtime.snapshots().get(version) if version else None
    return load_snapshot(path) if path else None


def human_int(text: str) -> int | None:
    """vLLM's human-readable ints: 32k = 32,000, 32K = 32,768 (vllm/engine/arg_utils.py human_readable_int)."""
    found = _HUMAN.match(text.strip())
    if not found:
        return None
    number, unit = found.groups()
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    return int(float(number) * scale[unit])


def _convert(option: Option, raw: str) -> Any:
    if option.type == "int":
        return int(raw)
    if option.type == "float":
        return float(raw)
    if option.type.startswith("human_readable_int"):
        if raw in ("auto", "-1"):
            return raw
        value = human_int(raw)
        if value is None:
            raise ValueError(raw)
        return value
    return raw


def _looks_like_option(word: str) -> bool:
    """argparse's rule: a word starting with '-' is an option unless it is '-' or a negative number."""
    if not word.startswith("-") or word == "-":
        return False
    try:
        float(word)
    except ValueError:
        return True
    return False


def _switch_value(option: Option, spelled: str) -> bool:
    if option.kind == "boolean_optional":
        negative = spelled.startswith("--no-") or (
            spelled.startswith("--disable-") and any(f.startswith("--enable-") for f in option.flags))
        return not negative
    return not bool(option.default)  # store_true (default False) or store_false (default True)


@dataclass(frozen=True)
class EngineCommand:
    """An engine's argv as its parser reads it: values by dest (defaults for what is not given)."""

    runtime: Runtime
    snapshot: Snapshot
    values: Mapping[str, Any]
    given: frozenset[str]  # dests set on the command line
    positionals: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())  # what the engine's parser would reject

    def dest(self, flag: str | None) -> str | None:
        option = self.snapshot.option(flag) if flag else None
        return option.dest if option else None

    def get(self, flag: str | None, default: Any = None) -> Any:
        dest = self.dest(flag)
        return self.values.get(dest, default) if dest else default

    def role(self, role: str, default: Any = None) -> Any:
        return self.get(self.runtime.flag(role), default)

    @property
    def model(self) -> str | None:
        if self.runtime.model_arg == "positional":
            return self.positionals[0] if self.positionals else None
        return self.get(f"--{self.runtime.model_arg}")

    @property
    def host(self) -> Any:
        return self.role("host")

    @property
    def port(self) -> int | None:
        return self.role("port")

    @property
    def served_names(self) -> tuple[str, ...]:
        """What /v1/models lists: --served-model-name (vLLM takes several), else the model argument."""
        names = self.role("served_model_name")
        if isinstance(names, (list, tuple)) and names:
            return tuple(str(n) for n in names)
        if isinstance(names, str) and names:
            return (names,)
        return (self.model,) if self.model else ()

    def size(self, role: str, flag: str) -> int:
        value = self.get(self.runtime.flag(role) or flag, 1)
        return value if isinstance(value, int) and value > 0 else 1

    @property
    def world_size(self) -> tuple[int, int, int]:
        """(TP, PP, DP) as the engine will run them."""
        return (self.size("tensor_parallel_size", "--tensor-parallel-size"),
                self.size("pipeline_parallel_size", "--pipeline-parallel-size"),
                self.size("data_parallel_size", "--data-parallel-size"))

    @property
    def local_world_size(self) -> int:
        """The GPUs this one process drives on its own node. vLLM runs --data-parallel-size-local of the DP ranks
        here when given, and otherwise splits the TP x PP world evenly over --nnodes pods (the mp executor across
        nodes, vllm/config/parallel.py); a single-node engine drives the whole world."""
        tp, pp, dp = self.world_size
        local_dp = self.get("--data-parallel-size-local")
        if isinstance(local_dp, int) and local_dp > 0:
            return tp * pp * local_dp
        nnodes = self.get("--nnodes", 1)
        nnodes = nnodes if isinstance(nnodes, int) and nnodes > 0 else 1
        return tp * pp * dp // nnodes


def parse_command(runtime: Runtime, snapshot: Snapshot, words: Sequence[str]) -> EngineCommand:
    """Parse the words after the runtime's command (the container's args) with the snapshot's option table."""
    values: dict[str, Any] = {}
    for option in snapshot.options.values():
        values.setdefault(option.dest, option.default)
    given: set[str] = set()
    positionals: list[str] = []
    problems: list[str] = []
    unregistered: list[tuple[Option, str]] = []
    i = 0
    while i < len(words):
        word = str(words[i])
        i += 1
        if word == "--":
            positionals += [str(w) for w in words[i:]]
            break
        if not _looks_like_option(word):
            positionals.append(word)
            continue
        spelled, has_inline, inline = word.partition("=")
        option = snapshot.option(spelled)
        if option is None and "." in spelled:
            base = snapshot.option(spelled.split(".", 1)[0])
            if base is not None:  # a field inside a JSON option: --compilation-config.pass_config.x=true
                given.add(base.dest)
                continue
        if option is None:
            problems.append(f"unrecognized argument {spelled}")
            continue
        given.add(option.dest)
        if option.is_boolean or option.nargs == 0:
            if has_inline:
                problems.append(f"{spelled} takes no value")
            values[option.dest] = _switch_value(option, spelled)
            continue
        if has_inline:
            raw: list[str] = [inline]
        else:
            raw = []
            while i < len(words) and not _looks_like_option(str(words[i])):
                raw.append(str(words[i]))
                i += 1
                if not option.takes_list:
                    break
        if not raw:
            if option.nargs in ("?", "*"):
                values[option.dest] = [] if option.nargs == "*" else None
                continue
            problems.append(f"{spelled} expects a value")
            continue
        try:
            converted = [_convert(option, r) for r in raw]
        except ValueError:
            problems.append(f"{spelled}={' '.join(raw)}: not a valid {option.type}")
            continue
        if option.choices and option.type == "str" and not option.normalize:
            bad = [(c, hint) for c in converted if (hint := unaccepted(snapshot, option, c)) is not None]
            if bad:
                unregistered.append((option, f"{spelled}={bad[0][0]} is not accepted{bad[0][1]}"))
        if option.kind == "append":
            values[option.dest] = [*(values.get(option.dest) or []), *converted]
        else:
            values[option.dest] = converted if option.takes_list else converted[0]
    # A plugin option (--tool-parser-plugin) may register the name, wherever it stands on the line.
    problems += [message for option, message in unregistered
                 if not ((plugin := snapshot.option(option.extensible_by or "")) and plugin.dest in given)]
    accepted = 1 if runtime.model_arg == "positional" else 0
    if len(positionals) > accepted:
        problems.append(f"unrecognized arguments {' '.join(positionals[accepted:])}")
    return EngineCommand(runtime, snapshot, MappingProxyType(values), frozenset(given), tuple(positionals),
                         tuple(problems))
