"""`aimgen cache prefetch` against a hostile or broken Hub/mirror and a hostile file system.

Every case must end in one clear line with exit 4 (the environment is at fault, not the user's input), write nothing
outside the cache directory, and leave no partial file larger than the listed size.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakehub import GeneratedContent, events  # noqa: E402
from fakehub import cache_dir_fixture, hub_fixture  # noqa: E402,F401 (fixtures)

from aimgen.cli.main import run  # noqa: E402

MODEL = "org/tiny"
SHARD = "model.safetensors"
FILES = {
    "config.json": '{"architectures": ["LlamaForCausalLM"]}',
    SHARD: GeneratedContent(3 << 20, "w"),
}


def tree(root: Path) -> dict[str, int]:
    """Every path under root (files, links, dirs) with its size: what a run may not change outside the cache."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.lstat().st_size if not path.is_dir() else -1
    return out


@pytest.fixture(name="outside")
def outside_fixture(tmp_path, cache_dir):
    """The parents of the cache: the temp dir around it and a 'victim' file a hostile sha or name aims at.
    Yields a check that nothing outside the cache changed."""
    (tmp_path / "victim").write_text("precious")
    before = {k: v for k, v in tree(tmp_path).items() if not k.startswith("cache")}

    def unchanged() -> None:
        after = {k: v for k, v in tree(tmp_path).items() if not k.startswith("cache")}
        assert after == before
        assert (tmp_path / "victim").read_text() == "precious"

    return unchanged


def prefetch(capsys, cache_dir, *args):
    rc = run(["cache", "prefetch", MODEL, "--cache-dir", str(cache_dir), "--retries", "1", *args])
    _, err = capsys.readouterr()
    return rc, events(err)


def one_clear_line(evs) -> str:
    errors = [e for e in evs if e.get("level") == "error"]
    assert len(errors) == 1, errors
    message = errors[0]["message"]
    assert "internal error" not in message and "please report" not in message and "\n" not in message
    return message


def partials(cache_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (cache_dir / "aimgen" / "partial").rglob("*") if p.is_file()}


def edit_sha(value):
    def edit(info):
        info["sha"] = value
    return edit


def edit_sibling(field, value, name=SHARD):
    def edit(info):
        for s in info["siblings"]:
            if s["rfilename"] == name:
                if field.startswith("lfs."):
                    s["lfs"][field[4:]] = value
                else:
                    s[field] = value
    return edit


def drop_size(name):
    def edit(info):
        for s in info["siblings"]:
            if s["rfilename"] == name:
                s.pop("size", None)
                if "lfs" in s:
                    s["lfs"].pop("size", None)
    return edit


@pytest.mark.parametrize("sha", ["../../victim", "../../../../victim", "ABSOLUTE", "A" * 40, "0" * 39 + "/",
                                 "0123456789abcdef0123456789abcdef0123456\x00"])
def test_a_sha_that_is_not_40_hex_is_refused(hub, cache_dir, outside, capsys, sha):
    hub.add_repo(MODEL, FILES)
    hub.listing_edit = edit_sha(str(cache_dir.parent / "victim") if sha == "ABSOLUTE" else sha)
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "the Hub at" in message and "returned commit" in message and "40-hex" in message
    outside()
    assert not (cache_dir / "hub").exists() and hub.downloads() == {}


@pytest.mark.parametrize("name", ["../evil.json", "../../../../evil.json", "ABSOLUTE", "a/../../evil.json",
                                  "..\\..\\evil.json", "a//b.json", "./a.json", "a/./b.json", "a/", "nul\x00.json",
                                  "x" * 300 + ".json", "dir/" + "y" * 256])
def test_unsafe_file_names_are_refused(hub, cache_dir, outside, capsys, name):
    if name == "ABSOLUTE":
        name = str(cache_dir.parent / "victim")
    hub.add_repo(MODEL, {**FILES, name: "evil"})
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "the Hub at" in message and "refusing" in message
    if len(name) > 255:
        assert "at most 255" in message
    outside()
    assert hub.downloads() == {}


def test_a_file_and_directory_of_the_same_name_are_refused(hub, cache_dir, outside, capsys):
    hub.add_repo(MODEL, {**FILES, "extra": "a file", "extra/inner.json": "below a file"})
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "'extra' both as a file and as the directory of 'extra/inner.json'" in message
    outside()


@pytest.mark.parametrize("edit", [edit_sibling("lfs.sha256", "../../../../victim"),
                                  edit_sibling("blobId", "../x", name="config.json"),
                                  edit_sibling("lfs.size", -5), edit_sibling("lfs.size", "many")],
                         ids=["sha256", "blob-id", "negative-size", "text-size"])
def test_blob_names_and_sizes_from_the_listing_are_checked(hub, cache_dir, outside, capsys, edit):
    hub.add_repo(MODEL, FILES)
    hub.listing_edit = edit
    rc, evs = prefetch(capsys, cache_dir)
    assert rc == 4 and "the Hub at" in one_clear_line(evs)
    outside()


def test_an_lfs_file_without_a_listed_size_is_refused(hub, cache_dir, outside, capsys):
    hub.add_repo(MODEL, FILES)
    hub.listing_edit = drop_size(SHARD)
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    # huggingface_hub itself refuses an LFS entry without size (2.x); older clients leave it to our own check.
    assert rc == 4 and "the Hub at" in message and ("'size'" in message or "LFS file 'model.safetensors'" in message)
    assert hub.downloads() == {}


def test_a_small_file_without_a_listed_size_takes_its_head_size(hub, cache_dir, capsys):
    hub.add_repo(MODEL, FILES)
    hub.listing_edit = drop_size("config.json")
    rc, _ = prefetch(capsys, cache_dir)
    assert rc == 0 and hub.downloads() == {"config.json": 1, SHARD: 1}


def test_a_large_regular_file_without_a_listed_size_is_refused(hub, cache_dir, outside, capsys):
    hub.add_repo(MODEL, {**FILES, "big.txt": GeneratedContent(11 << 20, "big")})
    hub.listing_edit = drop_size("big.txt")
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "'big.txt'" in message and "up to 10 MiB" in message
    assert hub.downloads() == {}


@pytest.mark.parametrize("kind", ["endless", "oversize"])
@pytest.mark.parametrize("path", ["/cdn/*", "*/resolve/*/config.json"], ids=["lfs", "regular"])
def test_a_body_longer_than_listed_is_cut_and_refused(hub, cache_dir, outside, capsys, kind, path):
    hub.add_repo(MODEL, FILES)
    hub.inject(kind, path=path, method="GET", times=99)
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "listing gives" in message and "refusing the file" in message
    refused = FILES[SHARD].sha256 if path == "/cdn/*" else None
    kept = partials(cache_dir)
    if refused:
        assert f"{refused}.part" not in kept  # nothing of the refused body is kept
    else:
        assert not [p for p in kept if len(p) == 45]  # config.json's partial (git blob id) is gone
    assert all(size <= FILES[SHARD].size for size in kept.values())  # others: at most a resumable prefix
    blobs = [p for p in (cache_dir / "hub").rglob("blobs/*")] if (cache_dir / "hub").exists() else []
    assert all(p.stat().st_size <= FILES[SHARD].size for p in blobs)
    sent = max(e["sent"] for e in hub.requests("GET") if e["file"])
    assert kind == "oversize" or sent < 64 << 20  # the client hung up soon after the listed size
    outside()


def test_a_failed_run_keeps_only_the_resumable_prefix(hub, cache_dir, capsys):
    hub.add_repo(MODEL, FILES)
    hub.inject("truncate", path="/cdn/*", method="GET", times=99, after_bytes=1 << 20)
    rc, evs = prefetch(capsys, cache_dir, "--retries", "0")
    assert rc == 4
    kept = partials(cache_dir)
    assert kept and all(size <= FILES[SHARD].size for size in kept.values())
    hub.faults.clear()
    rc, _ = prefetch(capsys, cache_dir)
    assert rc == 0 and partials(cache_dir) == {}


@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, ("Read-only file system", "read-write")),
                                             (errno.EACCES, ("Permission denied", "fsGroup"))])
def test_a_volume_that_refuses_writes_is_exit_4_with_one_line(hub, cache_dir, capsys, monkeypatch, code, words):
    """What the kernel answers under the cache on a read-only mount (EROFS) or a volume owned by another user
    without fsGroup (EACCES; tests run as root here, so permissions alone cannot make it happen)."""
    hub.add_repo(MODEL, FILES)
    real_mkdir, real_open = os.mkdir, os.open

    def refuse(path):
        raise OSError(code, os.strerror(code), str(path))

    def ro_mkdir(path, *args, **kwargs):
        if str(path).startswith(str(cache_dir)):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def ro_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(cache_dir)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", ro_mkdir)
    monkeypatch.setattr(os, "open", ro_open)
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and all(w in message for w in words)
    for command in (["cache", "prune"], ["cache", "evict", MODEL], ["cache", "stats"], ["cache", "list"]):
        run([*command, "--cache-dir", str(cache_dir)])
        assert "internal error" not in capsys.readouterr().err


def test_a_missing_huggingface_hub_names_the_extra(hub, cache_dir, capsys, monkeypatch):
    hub.add_repo(MODEL, FILES)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # what a plain `pip install aimgen` gives
    rc, evs = prefetch(capsys, cache_dir)
    message = one_clear_line(evs)
    assert rc == 4 and "pip install 'aimgen[cache]'" in message
