"""Pure parts of the cache: selection, plan helpers, leases (with a fake clock), backoff, layout checks."""

from __future__ import annotations

import io
import json
import random
import threading
from pathlib import Path

import pytest

from aimgen.cache import plan
from aimgen.cache.files import RepoFile, select
from aimgen.cache.layout import CacheLayout, check_model_id, check_repo_path, is_commit
from aimgen.cache.lease import LeaseKeeper
from aimgen.cache.manage import parse_duration
from aimgen.cache.progress import Progress
from aimgen.cache.retry import RetryPolicy
from aimgen.console import Console
from aimgen.errors import InvalidInput, UsageError

GIB = 1 << 30


def names(selection):
    return sorted(f.name for f in selection.files)


def repo(*names_):
    return tuple(RepoFile(n, 10, blob_id="a" * 40) for n in names_)


def test_selection_defaults_skip_pickle_and_foreign_formats():
    files = repo("config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "onnx/model.onnx",
                 "original/consolidated.00.pth", "training_args.bin")
    chosen = select(files)
    assert names(chosen) == ["config.json", "model.safetensors"]
    assert sorted(chosen.skipped_pickle) == ["original/consolidated.00.pth", "pytorch_model.bin", "training_args.bin"]
    assert names(select(files, allow_pickle=True)) == ["config.json", "model.safetensors",
                                                       "original/consolidated.00.pth", "pytorch_model.bin",
                                                       "training_args.bin"]


def test_selection_patterns():
    files = repo("config.json", "model.safetensors", "tf_model.h5", "sub/a.json", "sub/b.safetensors")
    assert names(select(files, allow=("sub/",))) == ["sub/a.json", "sub/b.safetensors"]
    assert names(select(files, allow=("*.h5", "*.json"))) == ["config.json", "sub/a.json", "tf_model.h5"]
    assert names(select(files, exclude=("sub/*",))) == ["config.json", "model.safetensors"]
    with pytest.raises(InvalidInput, match="no file"):
        select(files, allow=("*.gguf",))


def test_pickle_only_selection_is_refused():
    with pytest.raises(InvalidInput, match="--allow-pickle"):
        select(repo("config.json", "pytorch_model.bin"))
    with pytest.raises(InvalidInput, match="--allow-pickle"):
        select(repo("config.json", "model.safetensors", "pytorch_model.bin"), allow=("*.bin", "*.json"))


def test_etag_is_sha256_for_lfs_and_git_id_otherwise():
    assert RepoFile("a", 1, blob_id="b" * 40, sha256="c" * 64).etag == "c" * 64
    assert RepoFile("a", 1, blob_id="b" * 40).etag == "b" * 40
    with pytest.raises(InvalidInput):
        _ = RepoFile("a", 1).etag


def test_cache_size_recommendation():
    assert plan.cache_size_bytes(0) == 10 * GIB
    assert plan.cache_size_bytes(16 * GIB) == 21 * GIB  # 16 * 1.15 + 2 = 20.4 -> 21
    assert plan.cache_size_bytes(140 * 10**9) % GIB == 0
    assert plan.cache_size_bytes(140 * 10**9) >= 140 * 10**9 * 1.15
    with pytest.raises(ValueError):
        plan.cache_size_bytes(-1)


def test_prefetch_args_and_env():
    assert plan.prefetch_args("Qwen/Qwen3-8B", "a" * 40, "/models", ["*.json", "*.safetensors"]) == [
        "cache", "prefetch", "Qwen/Qwen3-8B", "--revision", "a" * 40, "--cache-dir", "/models",
        "--allow-pattern", "*.json", "--allow-pattern", "*.safetensors"]
    assert plan.prefetch_args("m/x", "main", "/c", (), token_file="/var/run/hf/token", allow_pickle=True)[-3:] == [
        "--allow-pickle", "--token-file", "/var/run/hf/token"]
    with pytest.raises(InvalidInput):
        plan.prefetch_args("bad id", "main", "/c", ())
    env = plan.serving_env("/models/")
    assert env["HF_HOME"] == "/models" and env["HF_HUB_CACHE"] == "/models/hub" and env["HF_HUB_OFFLINE"] == "1"
    assert "HF_TOKEN" not in env and "HF_TOKEN" not in plan.prefetch_env()


def test_layout_rejects_unsafe_names():
    for bad in ("../x", "/etc/passwd", "a/../../b", "a\\b", ""):
        with pytest.raises(InvalidInput):
            check_repo_path(bad)
    for bad in ("a b", "org/a--b", "../x", "a/b/c"):
        with pytest.raises(InvalidInput):
            check_model_id(bad)
    assert check_model_id("gpt2") == "gpt2"
    assert is_commit("0" * 40) and not is_commit("main")
    layout = CacheLayout(Path("/c"))
    expected = "/hub/models--o--m/snapshots/" + "0" * 40 + "/sub/f.json"
    assert str(layout.snapshot_file("o/m", "0" * 40, "sub/f.json")).endswith(expected)


def test_durations():
    assert parse_duration("30d") == 30 * 86400 and parse_duration("12h") == 43200 and parse_duration("2w") == 1209600
    with pytest.raises(UsageError):
        parse_duration("30")


def test_backoff_grows_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(retries=5, base=1.0, cap=8.0)
    rng = random.Random(1)
    delays = [policy.delay(n, rng) for n in range(1, 7)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(8.0, 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert len({round(policy.delay(3, random.Random(s)), 6) for s in range(10)}) > 5  # jittered
    assert policy.delay(1, rng, retry_after=20) == 20


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lease_is_exclusive_and_taken_over_after_ttl(tmp_path):
    holder = LeaseKeeper(tmp_path, ttl=1000.0)  # beats every 250 s: effectively silent during this test
    lease = holder.try_acquire("m/blob")
    assert lease is not None
    clock = Clock()
    waiter = LeaseKeeper(tmp_path, ttl=1.0, clock=clock)
    assert waiter.try_acquire("m/blob") is None
    clock.now = 500.0
    assert waiter.try_acquire("m/blob") is None  # the holder declared ttl=1000: not dead yet
    clock.now = 1001.0
    taken = waiter.try_acquire("m/blob")
    assert taken is not None and waiter.holder("m/blob") == waiter.token
    holder._beat(lease)
    assert lease.lost  # the old holder notices on its next heartbeat
    holder.release(lease)  # and does not delete the new holder's lease
    assert waiter.holder("m/blob") == waiter.token
    waiter.release(taken)
    assert waiter.holder("m/blob") is None
    holder.close()
    waiter.close()


def test_heartbeat_keeps_a_lease_alive(tmp_path):
    holder = LeaseKeeper(tmp_path, ttl=0.2)
    clock = Clock()
    waiter = LeaseKeeper(tmp_path, ttl=0.2, clock=clock)
    with holder:
        lease = holder.try_acquire("k")
        for step in range(6):
            beats = lease.beats
            for _ in range(500):  # wait for the next heartbeat (real thread, every ttl/4)
                if lease.beats > beats:
                    break
                threading.Event().wait(0.01)
            clock.now = step * 0.3  # more than a ttl between observations, but the bytes changed each time
            assert waiter.try_acquire("k") is None
        assert lease.beats >= 5 and not lease.lost
    assert waiter.holder("k") is None  # released on close


def test_takeover_never_removes_a_fresh_lease(tmp_path):
    holder = LeaseKeeper(tmp_path, ttl=1000.0)
    lease = holder.try_acquire("k")
    stale = lease.path.read_bytes()
    holder._beat(lease)  # the holder beat after the waiter's last look
    waiter = LeaseKeeper(tmp_path, ttl=1.0)
    assert waiter._break(lease.path, stale) is False
    assert holder.holder("k") == holder.token and not lease.lost
    holder.close()


def test_progress_lines_on_non_terminals():
    stream = io.StringIO()
    progress = Progress(label="m", total_bytes=1000, files_total=2, interval=0.05, out=Console(stream, "json"))
    with progress:
        progress.add(400)
        progress.present(100)
        progress.file_done()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and lines[-1]["event"] == "cache.progress"
    assert lines[-1]["bytes"] == 500 and lines[-1]["total_bytes"] == 1000 and lines[-1]["files_done"] == 1
    assert {"rate_bytes_per_s", "eta_s"} <= set(lines[-1])
