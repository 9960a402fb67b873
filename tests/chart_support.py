"""Shared by tests/test_chart_*.py and bench/chart.py: the real Helm binaries, `helm template`, and the Python
side of the equivalence (aimgen's own compose → render / values, in-process, exactly what the CLI does)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "aim-engine"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
NODE_POOLS = sorted((ROOT / "recipes" / "node-pools").glob("*.yaml"))
HELMS = {"helm3": ROOT / ".tools" / "helm3" / "helm", "helm4": ROOT / ".tools" / "helm4" / "helm"}
HELM_VERSIONS = {"helm3": "v3.18", "helm4": "v4.1"}
MANAGED_BY = "app.kubernetes.io/managed-by"
HOOK = "helm.sh/hook"
# Two helm processes at a time: the suite shares 2 cores with the other areas.
WORKERS = 2


def helm_binary(which: str) -> Path:
    path = HELMS[which]
    assert path.is_file(), f"{path} missing: run `make tools` (scripts/install-tools.sh)"
    return path


def helm_env() -> dict[str, str]:
    """A private Helm home: no repositories, no plugins, no cache shared with the developer's own Helm."""
    home = Path(tempfile.gettempdir()) / f"aim-engine-helm-{os.getuid()}"
    env = dict(os.environ)
    for var, sub in (("HELM_CONFIG_HOME", "config"), ("HELM_CACHE_HOME", "cache"), ("HELM_DATA_HOME", "data")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    return env


def run_helm(which: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(helm_binary(which)), *args], capture_output=True, text=True, timeout=timeout,
                          env=helm_env(), check=False)


def template(which: str, release: str, *, values_files: Sequence[Path] = (), sets: Sequence[str] = (),
             namespace: str | None = None, chart: Path = CHART) -> subprocess.CompletedProcess:
    args = ["template", release, str(chart)]
    for f in values_files:
        args += ["-f", str(f)]
    for s in sets:
        args += ["--set", s]
    if namespace:
        args += ["--namespace", namespace]
    return run_helm(which, *args)


def template_batch(which: str, release: str, installs: Sequence[dict], namespace: str = "default") -> list[list[dict]]:
    """Many installs of the chart in one `helm template`: a throw-away parent chart with the chart as aliased
    dependencies (c0000, c0001, …), each with its own values. Returns each install's documents, as a lone
    `helm template RELEASE charts/aim-engine` of those values renders them: the alias Helm puts in the chart name
    label goes back to aim-engine. Every install must render (one `fail` fails the whole batch)."""
    import json
    import shutil

    aliases = [f"c{i:04d}" for i in range(len(installs))]
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp)
        shutil.copytree(CHART, parent / "charts" / CHART.name)
        deps = "".join(f"  - name: {CHART.name}\n    version: '>=0.0.0-0'\n    alias: {a}\n" for a in aliases)
        (parent / "Chart.yaml").write_text(f"apiVersion: v2\nname: batch\nversion: 0.0.0\ndependencies:\n{deps}")
        (parent / "values.yaml").write_text(json.dumps(dict(zip(aliases, installs))))
        result = template(which, release, namespace=namespace, chart=parent)
    assert result.returncode == 0, f"{which} template of a batch failed: {result.stderr.strip()}"
    out: dict[str, list[dict]] = {a: [] for a in aliases}
    for part in result.stdout.split("\n---\n"):
        source = next((line for line in part.splitlines() if line.startswith("# Source: batch/charts/")), None)
        if source is None:
            continue
        alias = source.split("/")[2]
        for doc in load_docs(part):
            labels = doc.get("metadata", {}).get("labels") or {}
            if labels.get("app.kubernetes.io/name") == alias:
                labels["app.kubernetes.io/name"] = CHART.name
            out[alias].append(doc)
    return [out[a] for a in aliases]


def in_parallel(fn, items: Iterable) -> list:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(fn, items))


# libyaml: the documents are big (a batched release is thousands of lines) and pure-Python YAML is slow.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=_LOADER) if d]


def comparable(docs: Iterable[dict]) -> list[dict]:
    """Objects as the equivalence compares them: no `helm test` hooks (chart-only), no managed-by label (Helm
    vs aimgen: the one label allowed to differ), sorted by kind/namespace/name."""
    out = []
    for doc in docs:
        meta = doc.get("metadata", {})
        if HOOK in (meta.get("annotations") or {}):
            continue
        labels = meta.get("labels")
        if labels and MANAGED_BY in labels:
            labels = {k: v for k, v in labels.items() if k != MANAGED_BY}
            doc = {**doc, "metadata": {**meta, "labels": labels}}
        out.append(doc)
    return sorted(out, key=object_key)


def object_key(doc: dict) -> tuple[str, str, str]:
    meta = doc.get("metadata", {})
    return (doc.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def first_difference(a, b, path: str = "") -> str | None:
    """Where two parsed documents first differ, as a readable path (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                return f"{path}.{key}: only in helm: {b[key]!r}"
            if key not in b:
                return f"{path}.{key}: only in aimgen: {a[key]!r}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items in aimgen, {len(b)} in helm: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if a != b or type(a) is not type(b):
        return f"{path}: aimgen {a!r} vs helm {b!r}"
    return None


def compare(expected: list[dict], rendered: list[dict]) -> str | None:
    """None when both sides hold the same objects; else what differs first."""
    exp, got = comparable(expected), comparable(rendered)
    exp_keys, got_keys = [object_key(d) for d in exp], [object_key(d) for d in got]
    if exp_keys != got_keys:
        return f"objects differ: aimgen {exp_keys} vs helm {got_keys}"
    for e, g in zip(exp, got):
        diff = first_difference(e, g, "/".join(object_key(e)))
        if diff:
            return diff
    return None


# ---- the Python side: what `aimgen render` / `aimgen values` produce, in-process ----

@dataclass(frozen=True)
class Case:
    """One release: the models (with their selection options), the node pool and the render options."""

    id: str
    models: tuple  # of (model_id, gpus, precision, backend, metric, explicit name or None)
    gpu: str | None = None
    release: str | None = None  # --name; None: named after the (first) model, as `aimgen render` does
    node_pool: Path | None = None
    model_config: Path | None = None
    namespace: str = "default"
    options: tuple = ()  # extra compose.Options fields as (name, value)
    exposure: tuple = ()  # spec.ExposureSpec fields as (name, value)
    features: tuple = ()  # recipe features every model switches on (`--feature`)


def build_spec(case: Case):
    """The DeploymentSpec `aimgen render` builds for this case (the functions the CLI calls, in-process)."""
    from dataclasses import replace

    from aimgen.catalog.models import get_model, model_from_config
    from aimgen.cli.options import resolve_pool
    from aimgen.compose import Options, compose
    from aimgen.select import Request

    pool = resolve_pool(case.gpu, case.node_pool)
    requests = []
    for model_id, gpus, precision, backend, metric, name in case.models:
        model = model_from_config(model_id, case.model_config) if case.model_config else get_model(model_id)
        requests.append((Request(model=model, pool=pool, gpus=gpus, precision=precision, backend=backend,
                                 metric=metric, features=case.features), name))
    options = Options(name=case.release, namespace=case.namespace, **dict(case.options))
    spec, _ = compose(requests, pool, options)
    if case.exposure:
        spec = replace(spec, exposure=replace(spec.exposure, **dict(case.exposure)))
    return spec


@dataclass(frozen=True)
class Expected:
    release: str
    namespace: str
    docs: list  # manifests as `aimgen render` prints them, parsed back
    values_text: str  # the file `aimgen values` prints
    values: dict


def python_side(case: Case, table: dict | None) -> Expected:
    from aimgen.render.manifests import render_all
    from aimgen.render.values import to_values
    from aimgen.yamlio import dump

    spec = build_spec(case)
    text = dump(to_values(spec, table))
    return Expected(spec.release, spec.namespace, load_docs(_dump_all(render_all(spec))), text, yaml.safe_load(text))


def rendered_docs(case: Case) -> tuple[str, str, list[dict]]:
    """(release, namespace, manifests) of `aimgen render` for the case, normalised through JSON instead of YAML:
    the same plain values, at a fraction of the cost (for the thousands of zero-config installs)."""
    import json

    from aimgen.render.manifests import render_all

    spec = build_spec(case)
    return spec.release, spec.namespace, json.loads(json.dumps(render_all(spec)))


def _dump_all(docs: list[dict]) -> str:
    """What `aimgen render` prints (aimgen.yamlio.dump_all), emitted by libyaml for speed: same representers,
    same options, so the same YAML; the equivalence parses it back like the CLI's output."""
    from aimgen import yamlio

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    for kind, representer in yamlio._Dumper.yaml_representers.items():
        Dumper.add_representer(kind, representer)
    return yaml.dump_all(docs, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=1000,
                         allow_unicode=True, explicit_start=True)


def helm_side(which: str, release: str, values_text: str | None, namespace: str, sets: Sequence[str] = ()) -> list[dict]:
    """`helm template RELEASE charts/aim-engine [-f VALUES] [--set ...] --namespace NS`, parsed."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        if values_text is not None:
            path = Path(tmp) / "values.yaml"
            path.write_text(values_text)
            files.append(path)
        result = template(which, release, values_files=files, sets=sets, namespace=namespace)
    assert result.returncode == 0, f"{which} template {release} failed: {result.stderr.strip()}"
    return load_docs(result.stdout)
