"""`aimgen cache list|stats|verify|prune|evict` on caches filled through the fake Hub."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakehub import GeneratedContent, events  # noqa: E402
from fakehub import cache_dir_fixture, hub_fixture  # noqa: E402,F401 (fixtures)

from aimgen.cache import index  # noqa: E402
from aimgen.cache.layout import CacheLayout  # noqa: E402
from aimgen.cli.main import run  # noqa: E402

A, B = "org/alpha", "org/beta"


def files(seed: str) -> dict:
    return {"config.json": f'{{"seed": "{seed}"}}', "model.safetensors": GeneratedContent(150_000, seed)}


def fill(hub, cache_dir, capsys) -> dict[str, str]:
    commits = {A: hub.add_repo(A, files("a")), B: hub.add_repo(B, files("b"))}
    for model in commits:
        assert run(["cache", "prefetch", model, "--cache-dir", str(cache_dir)]) == 0
    capsys.readouterr()
    return commits


def cli_json(capsys, *args):
    rc = run([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return rc, json.loads(out) if out.strip() else None, events(err)


def test_list_and_stats(hub, cache_dir, capsys):
    commits = fill(hub, cache_dir, capsys)
    rc, listed, _ = cli_json(capsys, "cache", "list", "--cache-dir", str(cache_dir))
    assert rc == 0
    assert [(e["model"], e["commit"], e["revisions"], e["complete"]) for e in listed] == [
        (A, commits[A], ["main"], True), (B, commits[B], ["main"], True)]
    assert all(e["size_bytes"] == 150_000 + len(files("a")["config.json"]) for e in listed)
    rc, stats, _ = cli_json(capsys, "cache", "stats", "--cache-dir", str(cache_dir))
    assert rc == 0 and stats["models"] == 2 and stats["complete"] == 2 and stats["blobs"] == 4
    assert stats["partial_files"] == 0 and stats["leases"] == 0 and stats["free_bytes"] > 0
    assert run(["cache", "list", "--cache-dir", str(cache_dir)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:3] == ["MODEL", "REVISIONS", "COMMIT"] and A in text and B in text


def test_verify_detects_corruption_and_repair_refetches_only_that_file(hub, cache_dir, capsys):
    commits = fill(hub, cache_dir, capsys)
    layout = CacheLayout(cache_dir)
    blob = layout.blob(A, hub.file(A, "model.safetensors").sha256)
    data = bytearray(blob.read_bytes())
    data[1234] ^= 0x01  # same size: the warm path (stat only) cannot see it, verify must
    blob.write_bytes(bytes(data))
    assert run(["cache", "prefetch", A, "--cache-dir", str(cache_dir), "--revision", commits[A]]) == 0
    capsys.readouterr()
    rc, report, evs = cli_json(capsys, "cache", "verify", "--cache-dir", str(cache_dir))
    assert rc == 1 and evs[-1]["message"] == "1 cached file(s) failed verification"
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("CACHE003", "model.safetensors")]
    assert run(["cache", "verify", B, "--cache-dir", str(cache_dir)]) == 0  # the other model is fine
    assert run(["cache", "verify", A, "--repair", "--cache-dir", str(cache_dir)]) == 1
    capsys.readouterr()
    hub.clear_log()
    assert run(["cache", "prefetch", A, "--cache-dir", str(cache_dir)]) == 0
    assert hub.downloads() == {"model.safetensors": 1}
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0


def test_verify_reports_missing_files(hub, cache_dir, capsys):
    commits = fill(hub, cache_dir, capsys)
    CacheLayout(cache_dir).snapshot_file(B, commits[B], "config.json").unlink()
    rc, report, _ = cli_json(capsys, "cache", "verify", "--cache-dir", str(cache_dir))
    assert rc == 1 and [f["code"] for f in report["findings"]] == ["CACHE001"]
    assert run(["cache", "verify", "org/none", "--cache-dir", str(cache_dir)]) == 1


def test_evict_removes_record_first_and_files(hub, cache_dir, capsys):
    commits = fill(hub, cache_dir, capsys)
    layout = CacheLayout(cache_dir)
    assert run(["cache", "evict", A, "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"removed {A}@{commits[A]}"
    assert not layout.repo_dir(A).exists() and not layout.record(A, commits[A]).exists()
    assert f"{A}@{commits[A]}" not in index.read_index(layout)["entries"]
    assert layout.repo_dir(B).exists()
    assert run(["cache", "evict", A, "--cache-dir", str(cache_dir)]) == 1  # not there any more
    hub.clear_log()
    assert run(["cache", "prefetch", A, "--cache-dir", str(cache_dir)]) == 0  # and it comes back on demand
    assert hub.downloads() == {"config.json": 1, "model.safetensors": 1}


def test_evict_one_revision_keeps_shared_blobs(hub, cache_dir, capsys):
    first = hub.add_repo(A, files("a"))
    assert run(["cache", "prefetch", A, "--cache-dir", str(cache_dir)]) == 0
    second = hub.add_repo(A, {**files("a"), "config.json": '{"v": 2}'})
    assert run(["cache", "prefetch", A, "--cache-dir", str(cache_dir)]) == 0
    capsys.readouterr()
    assert run(["cache", "evict", A, "--revision", first, "--cache-dir", str(cache_dir)]) == 0
    layout = CacheLayout(cache_dir)
    assert not layout.snapshot(A, first).exists()
    shard = layout.snapshot_file(A, second, "model.safetensors")
    assert shard.read_bytes() == hub.file(A, "model.safetensors").read_all()  # its blob was shared, and kept
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0


def _age(cache_dir: Path, model: str, commit: str, days: float) -> None:
    layout = CacheLayout(cache_dir)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))

    def mutate(data):
        data["entries"][index.key(model, commit)]["last_use"] = stamp

    assert index.update_index(layout, mutate)


def test_prune_by_age_and_keep_last(hub, cache_dir, capsys):
    commits = fill(hub, cache_dir, capsys)
    _age(cache_dir, A, commits[A], 40)
    _age(cache_dir, B, commits[B], 2)
    rc, result, _ = cli_json(capsys, "cache", "prune", "--older-than", "30d", "--dry-run",
                             "--cache-dir", str(cache_dir))
    assert rc == 0 and result["removed"] == [f"{A}@{commits[A]}"] and result["dry_run"]
    assert CacheLayout(cache_dir).repo_dir(A).exists()
    rc, result, _ = cli_json(capsys, "cache", "prune", "--older-than", "30d", "--cache-dir", str(cache_dir))
    assert rc == 0 and result["removed"] == [f"{A}@{commits[A]}"] and result["freed_bytes"] > 150_000
    assert not CacheLayout(cache_dir).repo_dir(A).exists()
    assert run(["cache", "prune", "--keep-last", "1", "--cache-dir", str(cache_dir)]) == 0
    assert CacheLayout(cache_dir).repo_dir(B).exists()
    assert run(["cache", "prune", "--keep-last", "0", "--cache-dir", str(cache_dir)]) == 0
    assert not CacheLayout(cache_dir).repo_dir(B).exists()
    assert run(["cache", "prune", "--older-than", "soon", "--cache-dir", str(cache_dir)]) == 2
    capsys.readouterr()


def test_prune_clears_abandoned_partials_and_unlinked_blobs(hub, cache_dir, capsys):
    fill(hub, cache_dir, capsys)
    layout = CacheLayout(cache_dir)
    partial = layout.partial(A, "f" * 64)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"x" * 100)
    orphan = layout.repo_dir(A) / "blobs" / ("e" * 64)
    orphan.write_bytes(b"y" * 100)
    old = time.time() - 2 * 86400
    for path in (partial, orphan):
        os.utime(path, (old, old))
    fresh = layout.partial(A, "d" * 64)
    fresh.write_bytes(b"z")  # recent: might be a download in progress, kept
    rc, result, _ = cli_json(capsys, "cache", "prune", "--cache-dir", str(cache_dir))
    assert rc == 0 and result["removed"] == [] and result["partials"] == 1 and result["orphans"] == 1
    assert not partial.exists() and not orphan.exists() and fresh.exists()
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0
