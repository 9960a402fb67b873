"""aimgen render cold CLI time next to `helm version`, and render+validate time for the whole catalog."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIMGEN = ROOT / ".venv" / "bin" / "aimgen"
HELM = ROOT / ".tools" / "helm3" / "helm"
sys.path.insert(0, str(ROOT / "bench"))
from _timing import best_command  # noqa: E402


def main() -> None:
    render = [str(AIMGEN), "render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "-o", os.devnull]
    no_validate = render + ["--no-validate"]
    t_render = best_command(render)
    t_render_nv = best_command(no_validate)
    t_version = best_command([str(AIMGEN), "--version"])
    t_helm = best_command([str(HELM), "version"]) if HELM.exists() else float("nan")
    print(f"  aimgen render (validated)     {t_render * 1000:8.0f} ms")
    print(f"  aimgen render --no-validate   {t_render_nv * 1000:8.0f} ms")
    print(f"  aimgen --version              {t_version * 1000:8.0f} ms")
    print(f"  helm version (baseline)       {t_helm * 1000:8.0f} ms   render/helm = {t_render / t_helm:.1f}x")

    sys.path.insert(0, str(ROOT / "generator"))
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.catalog.nodepool import default_pool
    from aimgen.compose import Options, compose
    from aimgen.recipes.load import load_all_profiles
    from aimgen.render.manifests import render_all
    from aimgen.select import Request
    from aimgen.validate.documents import validate_documents

    profiles = load_all_profiles()
    models, gpus = load_models(), load_gpus()
    t = time.perf_counter()
    all_docs = []
    for p in profiles:
        pool = default_pool(gpus[p.gpu])
        if p.nodes > 1:
            from dataclasses import replace

            pool = replace(pool, nodes=p.nodes)
        req = Request(models[p.model], pool, p.gpus, p.precision, p.backend, p.metric)
        spec, _ = compose([(req, None)], pool, Options())
        all_docs.append(render_all(spec))
    t_render_all = time.perf_counter() - t
    t = time.perf_counter()
    for docs in all_docs:
        validate_documents(docs, source="bench", crd_dirs=None, kube_version=None)
    t_validate_all = time.perf_counter() - t
    n = len(profiles)
    print(f"  render every profile ({n})     {t_render_all * 1000:8.0f} ms  ({t_render_all / n * 1000:.1f} ms each)")
    print(f"  validate every profile ({n})   {t_validate_all * 1000:8.0f} ms  ({t_validate_all / n * 1000:.1f} ms each)")


if __name__ == "__main__":
    main()
