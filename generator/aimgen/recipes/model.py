"""Typed recipe profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Profile:
    model: str  # catalog model id
    gpu: str
    gpus: int
    precision: str
    backend: str
    metric: str
    args: dict[str, Any] = field(hash=False)
    env: dict[str, str] = field(hash=False)
    source: dict[str, str] = field(hash=False)
    checkpoint: str | None = None
    revision: str | None = None
    nodes: int = 1
    trust_remote_code_reason: str | None = None
    file: str = ""  # where it was read, for messages
    index: int = 0  # position in the file's profiles list
    default: bool = False  # the recipe's `defaults:` names it for its (gpu, metric): docs/selection.md
    runtime: str | None = None  # runtimes/<name> that serves it; None: the backend's default (registry.runtime_for_backend)

    @property
    def key(self) -> tuple[str, str, int, str, str, str]:
        return (self.model, self.gpu, self.gpus, self.precision, self.backend, self.metric)

    @property
    def id(self) -> str:
        slug = self.model.split("/", 1)[1].lower().replace(".", "-").replace("_", "-")
        return f"{slug}-{self.gpu}-x{self.gpus}-{self.precision}-{self.backend}-{self.metric}"

    @property
    def shape(self) -> str:
        """How a recipe's `defaults:` names it: x<gpus>-<precision>-<backend>."""
        return f"x{self.gpus}-{self.precision}-{self.backend}"

    def serving_runtime(self):
        """The runtime this profile runs on: its `runtime:`, else its backend's default (registry.runtime_for_backend;
        InvalidInput when it names one that does not serve its backend)."""
        from aimgen.runtimes.registry import runtime_for_backend

        return runtime_for_backend(self.backend, self.runtime)

    @property
    def location(self) -> str:
        return f"{self.file}: profiles[{self.index}]"
