"""checkov (--framework kubernetes) on what the chart renders for every ci values file, and on the Pod KServe
creates from each InferenceService (checkov knows no KServe kind, so the serving pod is only scanned once built:
validate/kserve_pod.py): no failed check, and every skipped check is skipped on the object itself with a written
reason (checkov.io/skipN annotations)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import yaml

from chart_support import CI_VALUES, ROOT, in_parallel, load_docs, template

CHECKOV = ROOT / ".tools" / "bin" / "checkov"


def test_checkov_reports_no_failed_check(tmp_path):
    assert CHECKOV.is_file(), f"{CHECKOV} missing: run `make tools` (scripts/install-tools.sh)"
    env = dict(os.environ, PATH=f"{CHECKOV.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert shutil.which("helm", path=env["PATH"]), "helm must be on PATH for checkov"

    from aimgen.validate.kserve_pod import find_runtime, predictor_pod

    def render(values):
        result = template("helm3", "ck", values_files=[values], namespace="llm")
        assert result.returncode == 0, f"{values.name}: {result.stderr.strip()}"
        docs = load_docs(result.stdout)
        # Without what KServe's storage webhook injects: its containers come from the cluster's config, not the chart.
        pods = [predictor_pod(d, find_runtime(d, docs), storage=False) for d in docs if d["kind"] == "InferenceService"]
        # Beside the NetworkPolicies that select them, so checkov's graph checks (CKV2_K8S_6) see both.
        (tmp_path / f"{values.stem}.yaml").write_text(yaml.safe_dump_all(docs + pods))
        return [p["metadata"]["name"] for p in pods]

    serving_pods = [name for names in in_parallel(render, CI_VALUES) for name in names]
    # --skip-download: no Prisma Cloud guideline download (no network in tests).
    run = subprocess.run([str(CHECKOV), "-d", str(tmp_path), "--framework", "kubernetes", "-o", "json",
                          "--skip-download"], capture_output=True, text=True, env=env, timeout=600, check=False)
    report = json.loads(run.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= 3 * len(CI_VALUES)
    scanned = {c["resource"] for c in report["results"]["passed_checks"] if c["resource"].startswith("Pod.")}
    assert {f"Pod.llm.{name}" for name in serving_pods} <= scanned, "every serving pod is scanned"
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert not failed, f"checkov failed checks: {failed}"
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert reason and reason != "No comment provided", f"{check['check_id']} on {check['resource']}: no reason"


def test_serving_pod_skips_disappear_once_every_image_is_pinned_by_digest():
    digest = "sha256:" + "0" * 64
    sets = ["model=Qwen/Qwen3-8B", "gpu=mi300x", f"imageDigests.ghcr\\.io/aim-engine/aimgen={digest}"]
    tagged = template("helm3", "pin", sets=sets, namespace="llm")
    pinned = template("helm3", "pin", sets=[*sets, f"imageDigests.docker\\.io/vllm/vllm-openai-rocm={digest}"],
                      namespace="llm")

    def predictor_annotations(result):
        assert result.returncode == 0, result.stderr
        isvc = next(d for d in load_docs(result.stdout) if d["kind"] == "InferenceService")
        return isvc["spec"]["predictor"].get("annotations", {})

    assert "checkov.io/skip1" in predictor_annotations(tagged)  # the engine image is still pinned by tag only
    assert predictor_annotations(pinned) == {}
