"""Several prefetcher processes on one cache dir (as pods on one ReadWriteMany volume), a holder killed with -9,
secrets kept out of every output, and an engine-style offline load of the result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakehub import AIMGEN, GeneratedContent, events, subprocess_env  # noqa: E402
from fakehub import hub_fixture  # noqa: E402,F401 (fixtures)

from aimgen.cache.layout import CacheLayout  # noqa: E402
from aimgen.cli.main import run  # noqa: E402

MODEL = "org/shared"


def spawn(cache: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([AIMGEN, "cache", "prefetch", MODEL, "--cache-dir", str(cache), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_eight_processes_download_each_file_once(hub, tmp_path):
    files = {"config.json": "{}", "tokenizer.json": "x" * 3000}
    files.update({f"model-{i:05d}.safetensors": GeneratedContent(600_000, f"s{i}") for i in range(5)})
    commit = hub.add_repo(MODEL, files)
    hub.inject("throttle", path="/cdn/*", method="GET", rate=2_000_000, times=1000)  # ~0.3 s per shard: overlap
    env = subprocess_env(hub.url)
    procs = [spawn(tmp_path / "cache", env, "--lease-ttl", "5", "--workers", "2") for _ in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [r[1][-2000:] for r in results]
    assert {r[0].strip() for r in results} == {str(CacheLayout(tmp_path / "cache").snapshot(MODEL, commit))}
    assert hub.downloads() == {name: 1 for name in files}
    assert len(hub.requests("HEAD", "*/resolve/*")) == len(files)
    warm = [e for r in results for e in events(r[1]) if e["event"] == "cache.ready" and e["warm"]]
    fetched = sum(e["downloaded_bytes"] for r in results for e in events(r[1]) if e["event"] == "cache.ready")
    assert fetched == 5 * 600_000 + 2 + 3000  # bytes crossed the wire once in total
    assert len(warm) <= 7  # someone did fetch
    assert run(["cache", "verify", "--cache-dir", str(tmp_path / "cache")]) == 0


def test_killed_holder_is_taken_over_and_resumed(hub, tmp_path):
    big = GeneratedContent(3_000_000, "big")
    hub.add_repo(MODEL, {"config.json": "{}", "model.safetensors": big})
    hub.inject("throttle", path="/cdn/*", method="GET", rate=400_000, times=1)  # only the first holder is slow
    cache = tmp_path / "cache"
    env = subprocess_env(hub.url)
    holder = spawn(cache, env, "--lease-ttl", "1")
    partial = cache / "aimgen" / "partial" / "models--org--shared" / f"{big.sha256}.part"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not partial.exists() or partial.stat().st_size < 300_000):
        time.sleep(0.05)
    assert partial.exists(), holder.communicate()[1][-2000:]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    cut = partial.stat().st_size
    assert 0 < cut < big.size
    successor = spawn(cache, env, "--lease-ttl", "1")
    out, err = successor.communicate(timeout=60)
    assert successor.returncode == 0, err[-2000:]
    evs = events(err)
    assert any(e["event"] == "cache.lease_takeover" for e in evs)
    assert any(e["event"] == "cache.resume" and e["offset"] >= cut for e in evs)
    resumed = [e for e in hub.requests("GET", "/cdn/*") if e["range"]]
    assert resumed and int(resumed[-1]["range"][len("bytes="):-1]) >= cut
    assert not partial.exists()
    assert run(["cache", "verify", "--cache-dir", str(cache)]) == 0


def test_sigterm_releases_the_lease_for_an_immediate_resume(hub, tmp_path):
    big = GeneratedContent(2_000_000, "term")
    hub.add_repo(MODEL, {"model.safetensors": big})
    hub.inject("throttle", path="/cdn/*", method="GET", rate=400_000, times=1)
    cache = tmp_path / "cache"
    env = subprocess_env(hub.url)
    holder = spawn(cache, env, "--lease-ttl", "300")  # a successor would wait 5 minutes for a dead holder
    partial = cache / "aimgen" / "partial" / "models--org--shared" / f"{big.sha256}.part"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not partial.exists() or partial.stat().st_size < 200_000):
        time.sleep(0.05)
    holder.send_signal(signal.SIGTERM)
    assert holder.wait(timeout=30) == 128 + signal.SIGTERM
    assert not list((cache / "aimgen" / "leases").rglob("*.lease"))
    successor = spawn(cache, env, "--lease-ttl", "300")
    out, err = successor.communicate(timeout=60)
    assert successor.returncode == 0, err[-2000:]
    assert not any(e["event"] == "cache.lease_takeover" for e in events(err))
    assert any(e["event"] == "cache.resume" for e in events(err))


def test_token_never_appears_in_output_or_files(tmp_path):
    from fakehub import FakeHub

    secret = "secret-xyz"
    with FakeHub(require_token=secret) as private:
        private.add_repo(MODEL, {"config.json": "{}", "model.safetensors": GeneratedContent(200_000, "t")})
        private.inject("status", path="/cdn/*", status=503)  # a retry is logged with the URL: not the token
        cache = tmp_path / "cache"
        outputs = []
        token_file = tmp_path / "token"
        token_file.write_text(secret + "\n")
        runs = [
            ({"HF_TOKEN": secret}, []),  # cold fetch, with one retry
            ({"HF_TOKEN": secret}, ["--revision", "nope"]),  # an error path
            ({}, ["--token-file", str(token_file), "--revision", "main"]),  # a mounted Secret file
            ({"HF_TOKEN": "wrong"}, ["--cache-dir", str(tmp_path / "other")]),  # rejected token
        ]
        codes = []
        for extra, args in runs:
            cmd = [AIMGEN, "cache", "prefetch", MODEL, "--cache-dir", str(cache), *args]
            done = subprocess.run(cmd, env=subprocess_env(private.url, **extra), capture_output=True, text=True,
                                  timeout=60)
            codes.append(done.returncode)
            outputs += [done.stdout, done.stderr]
        assert codes == [0, 1, 0, 4], outputs
        assert "HF_TOKEN or --token-file" in events(outputs[-1])[-1]["message"]
        for text in outputs:
            assert secret not in text
        for path in list(cache.rglob("*")) + list((tmp_path / "other").rglob("*")):
            if path.is_file() and not path.is_symlink():
                assert secret.encode() not in path.read_bytes(), path
        hub_paths = [e for e in private.log if not e["path"].startswith("/cdn/")]
        assert all(e["auth"] in (f"Bearer {secret}", "Bearer wrong") for e in hub_paths)
        assert all(e["auth"] is None for e in private.requests(path="/cdn/*"))  # never sent to the CDN


def test_engine_loads_by_id_offline_from_the_cache(hub, tmp_path):
    """What vLLM does with HF_HOME=<cache> and HF_HUB_OFFLINE=1: snapshot_download/hf_hub_download by model id."""
    files = {"config.json": '{"model_type": "llama"}', "model.safetensors": GeneratedContent(100_000, "e"),
             "tokenizer.json": "{}", "pytorch_model.bin": b"skipped"}
    commit = hub.add_repo(MODEL, files)
    cache = tmp_path / "cache"
    done = subprocess.run([AIMGEN, "cache", "prefetch", MODEL, "--cache-dir", str(cache)],
                          env=subprocess_env(hub.url), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    hub.clear_log()
    from aimgen.cache.plan import serving_env

    env = subprocess_env(None, **serving_env(str(cache)))
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens there: any request would fail
    script = (
        "import json, os, huggingface_hub as h\n"
        f"snap = h.snapshot_download({MODEL!r}, allow_patterns=['*.safetensors', '*.json'])\n"
        f"cfg = h.hf_hub_download({MODEL!r}, 'config.json')\n"
        "print(json.dumps({'snap': snap, 'files': sorted(os.listdir(snap)), 'cfg': open(cfg).read()}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    result = json.loads(loaded.stdout)
    assert result["snap"] == str(CacheLayout(cache).snapshot(MODEL, commit))
    assert result["files"] == ["config.json", "model.safetensors", "tokenizer.json"]
    assert json.loads(result["cfg"]) == {"model_type": "llama"}
    again = subprocess.run([AIMGEN, "cache", "prefetch", MODEL, "--cache-dir", str(cache)], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and hub.log == []
