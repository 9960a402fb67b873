"""checkov (--framework kubernetes) on what the chart renders for every ci values file: no failed check, and
every skipped check is skipped on the object itself with a written reason (checkov.io/skipN annotations)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from chart_support import CI_VALUES, ROOT, in_parallel, template

CHECKOV = ROOT / ".tools" / "bin" / "checkov"


def test_checkov_reports_no_failed_check(tmp_path):
    assert CHECKOV.is_file(), f"{CHECKOV} missing: run `make tools` (scripts/install-tools.sh)"
    env = dict(os.environ, PATH=f"{CHECKOV.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert shutil.which("helm", path=env["PATH"]), "helm must be on PATH for checkov"

    def render(values):
        result = template("helm3", "ck", values_files=[values], namespace="llm")
        assert result.returncode == 0, f"{values.name}: {result.stderr.strip()}"
        (tmp_path / f"{values.stem}.yaml").write_text(result.stdout)

    in_parallel(render, CI_VALUES)
    # --skip-download: no Prisma Cloud guideline download (no network in tests).
    run = subprocess.run([str(CHECKOV), "-d", str(tmp_path), "--framework", "kubernetes", "-o", "json",
                          "--skip-download"], capture_output=True, text=True, env=env, timeout=600, check=False)
    report = json.loads(run.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= 3 * len(CI_VALUES)
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert not failed, f"checkov failed checks: {failed}"
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert reason and reason != "No comment provided", f"{check['check_id']} on {check['resource']}: no reason"
