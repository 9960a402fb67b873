"""Chart benchmark: `helm template` of a typical release next to `aimgen render` of the same deployment.

    .venv/bin/python bench/chart.py

Typical release: Llama-3.1-70B-Instruct on an 8-GPU MI300X pool (mi300x-8gpu node pool), with the prefetch Job.
1. `helm template R charts/aim-engine -f <aimgen values>` on Helm 3.18 and Helm 4.1 (process, best of 5).
2. `aimgen render` of the same deployment: the CLI as a cold process (with and without validation), and the
   in-process compose + render that the CLI runs.
3. The zero-config install (`--set model=... --set gpu=...`) on both Helms.
4. Start-up: CPU time (user + system) of a cold `aimgen render` and of `helm template` of the same deployment,
   side by side in one run, and their ratio (target: at most 2). aimgen is measured byte-compiled, as a pip
   install of its wheel leaves it (`make bytecode` does the same for the editable install).
"""

from __future__ import annotations

import compileall
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _timing import best, best_cpu_pair  # noqa: E402
sys.path.insert(0, str(ROOT / "tests"))

MODEL = "meta-llama/Llama-3.1-70B-Instruct"
POOL = ROOT / "recipes" / "node-pools" / "mi300x-8gpu.yaml"
RELEASE = "llama-70b"



def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}…: {result.stderr.strip()[:300]}")


def main() -> None:
    from chart_support import CHART, Case, helm_binary, python_side

    case = Case("bench", ((MODEL, 8, None, "vllm", "latency", None),), node_pool=POOL, release=RELEASE,
                namespace="llm", options=(("prefetch_job", True),))
    from aimgen.chart_table import load_table

    # A wheel install compiles aimgen's modules; without this, an editable install under PYTHONDONTWRITEBYTECODE
    # would compile ~130 modules in every cold process and the start-up figure would measure the compiler.
    compileall.compile_dir(ROOT / "generator", quiet=1)
    table = load_table()
    expected = python_side(case, table)
    aimgen = str(ROOT / ".venv" / "bin" / "aimgen")
    common = [MODEL, "--node-pool", str(POOL), "--gpus", "8", "--name", RELEASE, "--namespace", "llm",
              "--prefetch-job"]
    with tempfile.TemporaryDirectory() as tmp:
        values = Path(tmp) / "values.yaml"
        values.write_text(expected.values_text)
        out = Path(tmp) / "out.yaml"
        helm = {}
        for which in ("helm3", "helm4"):
            binary = str(helm_binary(which))
            helm[which] = best(lambda b=binary: _run([b, "template", RELEASE, str(CHART), "-f", str(values),
                                                       "--namespace", "llm"]))
        cli = best(lambda: _run([aimgen, "render", *common, "--no-validate", "-o", str(out)]))
        cli_validate = best(lambda: _run([aimgen, "render", *common, "-o", str(out)]), repeat=3)
        in_process = best(lambda: python_side(case, table), repeat=20)
        # Start-up cost side by side, measured in the same run: CPU time of a cold process each (issue 12: <= 2x).
        helm3 = [str(helm_binary("helm3")), "template", RELEASE, str(CHART), "-f", str(values), "--namespace", "llm"]
        cpu_cli, cpu_helm = best_cpu_pair([aimgen, "render", *common, "--no-validate", "-o", str(out)], helm3)
        zero = {}
        for which in ("helm3", "helm4"):
            binary = str(helm_binary(which))
            zero[which] = best(lambda b=binary: _run([b, "template", "qwen", str(CHART), "--set", "model=Qwen/Qwen3-8B",
                                                       "--set", "gpu=mi300x"]))
    print(f"typical release ({MODEL}, TP=8, mi300x-8gpu pool, prefetch Job): {len(expected.docs)} objects")
    print(f"  helm template: helm 3.18 {helm['helm3'] * 1000:.0f} ms   helm 4.1 {helm['helm4'] * 1000:.0f} ms")
    print(f"  aimgen render: CLI cold {cli * 1000:.0f} ms (no validation), {cli_validate * 1000:.0f} ms (validated)"
          f"   in-process {in_process * 1000:.1f} ms")
    print(f"  ratio helm3 template / aimgen CLI: {helm['helm3'] / cli:.2f}x   helm4 / aimgen CLI: {helm['helm4'] / cli:.2f}x")
    print(f"  cold start CPU: aimgen render {cpu_cli * 1000:.0f} ms   helm 3.18 template {cpu_helm * 1000:.0f} ms"
          f"   ratio {cpu_cli / cpu_helm:.2f}x (target <= 2)")
    print(f"zero-config install (--set model=Qwen/Qwen3-8B --set gpu=mi300x): helm 3.18 {zero['helm3'] * 1000:.0f} ms"
          f"   helm 4.1 {zero['helm4'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
