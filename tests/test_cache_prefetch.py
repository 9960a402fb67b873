"""`aimgen cache prefetch` against a fake Hub on 127.0.0.1, in-process (real huggingface_hub, real HTTP)."""

from __future__ import annotations

import builtins
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakehub import GeneratedContent, events  # noqa: E402
from fakehub import cache_dir_fixture, hub_fixture  # noqa: E402,F401 (fixtures)

from aimgen.cache.layout import CacheLayout, repo_folder  # noqa: E402
from aimgen.cli.main import run  # noqa: E402

MODEL = "org/tiny"
FILES = {
    "config.json": '{"architectures": ["LlamaForCausalLM"]}',
    "tokenizer.json": "t" * 5000,
    "model-00001-of-00002.safetensors": GeneratedContent(900_000, "a"),
    "model-00002-of-00002.safetensors": GeneratedContent(700_000, "b"),
    "pytorch_model.bin": b"pickled weights",
    "flax_model.msgpack": b"flax",
}
WANTED = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.json"]


def prefetch(capsys, cache_dir, *args):
    rc = run(["cache", "prefetch", MODEL, "--cache-dir", str(cache_dir), *args])
    out, err = capsys.readouterr()
    return rc, out, events(err)


def ready(evs):
    return next(e for e in evs if e["event"] == "cache.ready")


def snapshot_names(cache_dir, commit):
    snap = CacheLayout(cache_dir).snapshot(MODEL, commit)
    return sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())


def test_cold_fetch_builds_the_hf_layout(hub, cache_dir, capsys):
    commit = hub.add_repo(MODEL, FILES)
    rc, out, evs = prefetch(capsys, cache_dir)
    assert rc == 0
    layout = CacheLayout(cache_dir)
    assert out.strip() == str(layout.snapshot(MODEL, commit))
    assert snapshot_names(cache_dir, commit) == WANTED  # pickle and flax weights skipped
    for name in WANTED:
        link = layout.snapshot_file(MODEL, commit, name)
        assert link.is_symlink() and os.readlink(link).startswith("../../blobs/")
        assert link.read_bytes() == hub.file(MODEL, name).read_all()
    big = hub.file(MODEL, "model-00001-of-00002.safetensors")
    assert layout.blob(MODEL, big.sha256).stat().st_size == big.size  # LFS blobs are named by sha256
    assert layout.blob(MODEL, hub.file(MODEL, "config.json").git_oid).exists()  # others by git blob id
    assert (cache_dir / "hub" / repo_folder(MODEL) / "refs" / "main").read_text() == commit
    record = json.loads(layout.record(MODEL, commit).read_text())
    assert sorted(record["fetched"]) == WANTED and record["commit"] == commit
    assert not list((cache_dir / "aimgen" / "partial").rglob("*.part"))
    assert hub.downloads() == {name: 1 for name in WANTED}
    assert ready(evs)["warm"] is False and any(e["event"] == "cache.skip_pickle" for e in evs)
    assert hub.requests("GET", "/api/agent-harnesses") == []  # telemetry stays off


def test_warm_hit_on_pinned_commit_makes_no_request_and_reads_no_blob(hub, cache_dir, capsys, monkeypatch):
    commit = hub.add_repo(MODEL, FILES)
    assert prefetch(capsys, cache_dir)[0] == 0
    hub.clear_log()
    opened = []
    real_open = builtins.open

    def spy(file, *a, **kw):
        opened.append(str(file))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    rc, out, evs = prefetch(capsys, cache_dir, "--revision", commit, "--token-file", "/nonexistent/token")
    monkeypatch.setattr(builtins, "open", real_open)
    assert rc == 0 and ready(evs)["warm"] is True and ready(evs)["downloaded_bytes"] == 0
    assert hub.log == []  # no network at all, and the missing token file was never needed
    assert not [p for p in opened if "/blobs/" in p or "/snapshots/" in p]  # stat only, no hashing
    index = json.loads((cache_dir / "aimgen" / "index.json").read_text())
    entry = index["entries"][f"{MODEL}@{commit}"]
    assert entry["hits"] == 1 and entry["size_bytes"] == sum(hub.file(MODEL, n).size for n in WANTED)


def test_named_revision_costs_one_api_call_when_online_and_none_offline(hub, cache_dir, capsys, monkeypatch):
    hub.add_repo(MODEL, FILES)
    assert prefetch(capsys, cache_dir)[0] == 0
    hub.clear_log()
    assert prefetch(capsys, cache_dir)[0] == 0
    assert [e["path"] for e in hub.log] == [f"/api/models/{MODEL}/revision/main"]
    hub.clear_log()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc, _, evs = prefetch(capsys, cache_dir)
    assert rc == 0 and ready(evs)["warm"] and hub.log == []


def test_new_commit_on_branch_fetches_only_changed_files(hub, cache_dir, capsys):
    first = hub.add_repo(MODEL, FILES)
    assert prefetch(capsys, cache_dir)[0] == 0
    hub.clear_log()
    second = hub.add_repo(MODEL, {**FILES, "config.json": '{"architectures": ["Changed"]}'})
    rc, _, evs = prefetch(capsys, cache_dir)
    assert rc == 0 and ready(evs)["commit"] == second != first
    assert hub.downloads() == {"config.json": 1}  # the shards are the same blobs
    assert (cache_dir / "hub" / repo_folder(MODEL) / "refs" / "main").read_text() == second


def test_unreachable_hub_falls_back_to_the_cached_ref(hub, cache_dir, capsys, monkeypatch):
    commit = hub.add_repo(MODEL, FILES)
    assert prefetch(capsys, cache_dir)[0] == 0
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    rc, _, evs = prefetch(capsys, cache_dir, "--retries", "0", "--timeout", "2")
    assert rc == 0 and ready(evs)["commit"] == commit
    assert any(e["event"] == "cache.stale_ref" for e in evs)


def test_offline_and_not_cached_is_an_environment_error(hub, cache_dir, capsys, monkeypatch):
    hub.add_repo(MODEL, FILES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc, _, evs = prefetch(capsys, cache_dir)
    assert rc == 4 and "HF_HUB_OFFLINE" in evs[-1]["message"] and hub.log == []


def test_disk_full_is_refused_before_any_download(hub, cache_dir, capsys, monkeypatch):
    hub.add_repo(MODEL, FILES)
    monkeypatch.setenv("AIMGEN_CACHE_FREE_BYTES", "1000000")
    rc, _, evs = prefetch(capsys, cache_dir)
    assert rc == 4
    message = evs[-1]["message"]
    assert "free" in message and "enlarge the volume" in message and "prune" in message
    assert hub.downloads() == {} and not hub.requests("HEAD")


def test_pickle_only_model_is_refused_unless_allowed(hub, cache_dir, capsys):
    hub.add_repo(MODEL, {"config.json": "{}", "pytorch_model.bin": GeneratedContent(10_000, "p")})
    rc, _, evs = prefetch(capsys, cache_dir)
    assert rc == 1 and "--allow-pickle" in evs[-1]["message"] and hub.downloads() == {}
    rc, _, _ = prefetch(capsys, cache_dir, "--allow-pickle")
    assert rc == 0 and hub.downloads() == {"config.json": 1, "pytorch_model.bin": 1}


def test_explicit_patterns_select_and_exclude(hub, cache_dir, capsys):
    commit = hub.add_repo(MODEL, FILES)
    rc, _, _ = prefetch(capsys, cache_dir, "--allow-pattern", "*.json", "--allow-pattern", "*.msgpack",
                        "--exclude-pattern", "tokenizer.json")
    assert rc == 0
    assert snapshot_names(cache_dir, commit) == ["config.json", "flax_model.msgpack"]
    # A later prefetch with the default selection widens the same record.
    assert prefetch(capsys, cache_dir)[0] == 0
    record = json.loads(CacheLayout(cache_dir).record(MODEL, commit).read_text())
    assert sorted(record["fetched"]) == sorted(WANTED + ["flax_model.msgpack"])


def test_5xx_drops_truncation_and_corruption_are_retried_and_resumed(hub, cache_dir, capsys):
    commit = hub.add_repo(MODEL, FILES)
    hub.inject("status", path="/api/models/*", status=503)
    hub.inject("status", path="*/resolve/*/tokenizer.json", method="HEAD", status=502)
    hub.inject("truncate", path="/cdn/*", method="GET", after_bytes=300_000)
    hub.inject("drop", path="/cdn/*", method="GET")
    hub.inject("corrupt", path="*/resolve/*/config.json", method="GET")
    rc, _, evs = prefetch(capsys, cache_dir, "--workers", "1")
    assert rc == 0
    retries = [e for e in evs if e["event"] == "cache.retry"]
    assert len(retries) >= 4
    resumed = [int(e["range"][len("bytes="):-1]) for e in hub.requests("GET", "/cdn/*") if e["range"]]
    assert resumed and resumed[0] == 300_000  # continued where the cut body ended
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0
    assert snapshot_names(cache_dir, commit) == WANTED


def test_server_ignoring_range_restarts_cleanly(hub, cache_dir, capsys):
    commit = hub.add_repo(MODEL, FILES)
    hub.inject("truncate", path="/cdn/*", method="GET", after_bytes=100_000)
    hub.inject("ignore_range", path="/cdn/*", method="GET")
    rc, _, _ = prefetch(capsys, cache_dir, "--workers", "1")
    assert rc == 0
    assert run(["cache", "verify", MODEL, "--revision", commit, "--cache-dir", str(cache_dir)]) == 0


def test_persistent_5xx_gives_up_with_exit_4(hub, cache_dir, capsys):
    hub.add_repo(MODEL, FILES)
    hub.inject("status", path="/cdn/*", status=503, times=100)
    rc, _, evs = prefetch(capsys, cache_dir, "--retries", "2")
    assert rc == 4 and "gave up after 2 retries" in evs[-1]["message"]
    assert not any((cache_dir / "hub").rglob("*.safetensors"))  # nothing half-written under a final name


def test_unknown_model_and_revision_are_invalid_input(hub, cache_dir, capsys):
    hub.add_repo(MODEL, FILES)
    rc, _, evs = prefetch(capsys, cache_dir, "--revision", "nope")
    assert rc == 1 and "revision not found" in evs[-1]["message"]
    rc = run(["cache", "prefetch", "org/missing", "--cache-dir", str(cache_dir)])
    assert rc == 1 and "repository not found" in events(capsys.readouterr().err)[-1]["message"]
    rc = run(["cache", "prefetch", "../etc", "--cache-dir", str(cache_dir)])
    assert rc == 1


def test_xet_failure_falls_back_to_http(cache_dir, capsys, monkeypatch):
    from fakehub import FakeHub

    with FakeHub(xet=True) as xhub:
        monkeypatch.setenv("HF_ENDPOINT", xhub.url)
        xhub.add_repo(MODEL, FILES)
        rc, _, evs = prefetch(capsys, cache_dir)
        assert rc == 0
        assert [e for e in evs if e["event"] == "cache.xet_fallback"]
        assert xhub.requests("GET", "*/xet-read-token/*")
        assert xhub.downloads() == {name: 1 for name in WANTED}

    with FakeHub(xet=True) as xhub:
        monkeypatch.setenv("HF_ENDPOINT", xhub.url)
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        xhub.add_repo("org/other", FILES)
        rc = run(["cache", "prefetch", "org/other", "--cache-dir", str(cache_dir)])
        assert rc == 0 and not xhub.requests("GET", "*/xet-read-token/*")
    capsys.readouterr()


def test_local_folder_source(tmp_path, cache_dir, capsys):
    src = tmp_path / "src"
    (src / ".cache").mkdir(parents=True)
    (src / ".cache" / "junk").write_text("not copied")
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(os.urandom(200_000))
    local = ("--source", "local", "--local-dir", str(src))
    rc, out, evs = prefetch(capsys, cache_dir, *local, "--allow-pattern", "*.json")
    assert rc == 0 and sorted(p.name for p in Path(out.strip()).iterdir()) == ["config.json"]
    rc, out, evs = prefetch(capsys, cache_dir, "--source", "local", "--local-dir", str(src))
    assert rc == 0 and ready(evs)["warm"] is False  # a wider selection is not a warm hit
    snap = Path(out.strip())
    assert sorted(p.name for p in snap.iterdir()) == ["config.json", "model.safetensors"]
    assert (snap / "model.safetensors").read_bytes() == (src / "model.safetensors").read_bytes()
    rc, out2, evs = prefetch(capsys, cache_dir, "--source", "local", "--local-dir", str(src))
    assert rc == 0 and ready(evs)["warm"] is True and out2 == out
    (src / "config.json").write_text('{"changed": true}')
    rc, out3, evs = prefetch(capsys, cache_dir, "--source", "local", "--local-dir", str(src))
    assert rc == 0 and ready(evs)["warm"] is False and out3 != out
    assert json.loads((Path(out3.strip()) / "config.json").read_text()) == {"changed": True}
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0


def test_hf_cache_on_a_pvc_as_local_source_keeps_commit_and_blobs(hub, cache_dir, tmp_path, capsys):
    commit = hub.add_repo(MODEL, FILES)
    assert prefetch(capsys, cache_dir)[0] == 0
    second = tmp_path / "second"
    hub.clear_log()
    rc = run(["cache", "prefetch", MODEL, "--cache-dir", str(second), "--source", "local",
              "--local-dir", str(cache_dir / "hub")])
    assert rc == 0 and hub.log == []
    a, b = CacheLayout(cache_dir), CacheLayout(second)
    assert sorted(p.name for p in (b.repo_dir(MODEL) / "blobs").iterdir()) == \
        sorted(p.name for p in (a.repo_dir(MODEL) / "blobs").iterdir())
    assert (b.repo_dir(MODEL) / "refs" / "main").read_text() == commit
    capsys.readouterr()
    assert run(["cache", "verify", "--cache-dir", str(second)]) == 0


def test_usage_errors(cache_dir, capsys):
    assert run(["cache", "prefetch", MODEL, "--cache-dir", str(cache_dir), "--source", "local"]) == 2
    assert run(["cache", "prefetch", MODEL, "--cache-dir", str(cache_dir), "--source", "s3"]) == 2
    assert run(["cache", "prefetch", MODEL, "--cache-dir", str(cache_dir), "--workers", "0"]) == 2
    capsys.readouterr()


def test_renderer_argv_runs_as_is(hub, cache_dir, capsys):
    from aimgen.cache.plan import prefetch_args

    commit = hub.add_repo(MODEL, FILES)
    assert run(prefetch_args(MODEL, commit, str(cache_dir), ["*.json", "*.safetensors"])) == 0
    assert snapshot_names(cache_dir, commit) == WANTED
    capsys.readouterr()


def test_a_failing_file_stops_the_other_workers(hub, cache_dir, capsys):
    slow = GeneratedContent(3_000_000, "slow")
    hub.add_repo(MODEL, {"config.json": "{}", "a.safetensors": slow, "b.safetensors": GeneratedContent(1000, "b")})
    hub.inject("throttle", path=f"/cdn/{slow.sha256}", rate=200_000, times=10)  # 15 s if left to finish
    hub.inject("status", path=f"/cdn/{hub.file(MODEL, 'b.safetensors').sha256}", status=403, times=100)
    rc, _, evs = prefetch(capsys, cache_dir, "--workers", "3")
    assert rc == 4 and "HTTP 403" in evs[-1]["message"]
    sent = [e["sent"] for e in hub.requests("GET", f"/cdn/{slow.sha256}")]
    assert sent and max(sent) < slow.size  # the slow download was abandoned, not waited for
    assert not CacheLayout(cache_dir).blob(MODEL, slow.sha256).exists()


def test_local_folder_from_hf_download_keeps_its_commit_and_etags(tmp_path, cache_dir, capsys):
    import hashlib

    src = tmp_path / "downloaded"
    meta = src / ".cache" / "huggingface" / "download"
    meta.mkdir(parents=True)
    commit = "c" * 40
    contents = {"config.json": b"{}", "model.safetensors": os.urandom(50_000)}
    etags = {"config.json": hashlib.sha1(b"blob 2\0{}").hexdigest(),
             "model.safetensors": hashlib.sha256(contents["model.safetensors"]).hexdigest()}
    for name, data in contents.items():
        (src / name).write_bytes(data)
        (meta / f"{name}.metadata").write_text(f"{commit}\n{etags[name]}\n1700000000.0\n")
    rc, out, _ = prefetch(capsys, cache_dir, "--source", "local", "--local-dir", str(src))
    assert rc == 0 and out.strip().endswith(commit)
    layout = CacheLayout(cache_dir)
    assert sorted(p.name for p in (layout.repo_dir(MODEL) / "blobs").iterdir()) == sorted(etags.values())
    assert run(["cache", "verify", "--cache-dir", str(cache_dir)]) == 0
