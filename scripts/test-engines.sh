#!/usr/bin/env bash
# `make test-engines`: check the committed engine snapshots against the real engines, and every recipe
# profile against the real parser of the engine version its runtime pins.
#
# For each runtimes/*/snapshots/<engine>-<version>.json:
#   1. create (or reuse) .venv-engines-<engine>-<version>: the engine installed with --no-deps, the CPU
#      build of torch that lies on the machine's disk, and the few packages the parser imports
#      (runtimes/<name>/snapshot-deps.txt, pinned to what the engine itself declares);
#   2. regenerate the snapshot into a temp file and fail if it differs from the committed one;
#   3. parse the recipe profiles that run on that runtime (recipes/models/*.yaml: those naming it in `runtime:`,
#      and those naming none when it is the backend's default) with the real parser.
# An engine that is not on PyPI (ATOM) is pinned by runtime.yaml's `source: {repository, commit}` instead: nothing
# is installed; steps 2 and 3 run from the checkout that <ENGINE>_SOURCE names (ATOM_SOURCE=DIR), which
# snapshot_engine.py checks is at that commit where it has a .git. Without one the snapshot is reported as
# "not checked", neither passed nor failed.
#
#   scripts/test-engines.sh            check
#   scripts/test-engines.sh --update   rewrite the committed snapshots instead of diffing
#   ENGINE_VERSIONS="0.33.0" ...       only these versions
#   ATOM_SOURCE=DIR ...                a checkout of ROCm/ATOM at the commit runtimes/atom-rocm pins
set -euo pipefail
cd "$(dirname "$0")/.."

UPDATE=0
[[ "${1:-}" == "--update" ]] && UPDATE=1
PYTHON="${ENGINE_PYTHON:-python3}"
TORCH_SPEC="${ENGINE_TORCH:-torch==2.13.0}"  # the CPU wheel on the machine's disk; never a CUDA build
RECIPES="${AIMGEN_RECIPES_DIR:-recipes/models}"
export VLLM_TARGET_DEVICE=cpu PIP_DISABLE_PIP_VERSION_CHECK=1
SNAPSHOT_TOOL="$PWD/scripts/snapshot_engine.py"
AIMGEN_PYTHON="${AIMGEN_PYTHON:-$PWD/.venv/bin/python}"  # aimgen's own venv (make dev): the registry's answers

failures=0
checked=0
unchecked=0
start_all=$SECONDS

log() { printf '[test-engines] %s\n' "$*"; }

install_engine() {  # venv engine version deps_file
  local venv=$1 engine=$2 version=$3 deps=$4
  local stamp="$venv/.installed-$( (cat "$deps"; echo "$TORCH_SPEC") | sha256sum | cut -c1-12)"
  [[ -f "$stamp" ]] && return 0
  log "installing $engine==$version into $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  local install_log="$venv/install.log"
  local pip=("$venv/bin/pip" install -q --disable-pip-version-check)
  local cons="$venv/constraints.txt"
  echo "$TORCH_SPEC" >"$cons"
  {
    "${pip[@]}" --no-deps "$engine==$version"
    "${pip[@]}" "$TORCH_SPEC"
    "$venv/bin/python" "$SNAPSHOT_TOOL" --engine "$engine" requirements --deps "$deps" --select with-deps >"$venv/req.txt"
    "$venv/bin/python" "$SNAPSHOT_TOOL" --engine "$engine" requirements --deps "$deps" --select no-deps >"$venv/req-nodeps.txt"
    "${pip[@]}" -c "$cons" -r "$venv/req.txt"
    if [[ -s "$venv/req-nodeps.txt" ]]; then "${pip[@]}" --no-deps -r "$venv/req-nodeps.txt"; fi
  } >"$install_log" 2>&1 || { tail -30 "$install_log"; log "FAIL: could not install $engine==$version (log: $install_log)"; return 1; }
  touch "$stamp"
}

# A runtime built from a source checkout rather than installed from PyPI: runtime.yaml has `source:`.
from_source() { grep -qs '^source:' "$1/runtime.yaml"; }

# Sets `tool` to the snapshot command for an engine built from source, at the checkout <ENGINE>_SOURCE names;
# without one, says what would re-check the snapshot and counts it as not checked.
source_tool() {  # runtime_dir engine version
  local var repo commit checkout
  var="$(tr 'a-z-' 'A-Z_' <<<"$2")_SOURCE"
  read -r repo commit < <("$AIMGEN_PYTHON" -c 'import sys, yaml
source = yaml.safe_load(open(sys.argv[1]))["source"]
print(source["repository"], source["commit"])' "$1/runtime.yaml")
  if [[ -z "${!var:-}" ]]; then
    log "not checked: $2 $3 is not on PyPI, so its snapshot was not re-made from the real parser (nor recipes parsed): check out $repo at $commit and set $var to that folder"
    unchecked=$((unchecked + 1)); return 1
  fi
  if ! checkout=$(cd "${!var}" 2>/dev/null && pwd); then
    log "FAIL: $var=${!var} is not a folder"; failures=$((failures + 1)); return 1
  fi
  # The checkout's commit is snapshot_engine.py's to check (its .git HEAD, else --commit is taken as said).
  tool=("$AIMGEN_PYTHON" "$SNAPSHOT_TOOL" --engine "$2" --source "$checkout" --commit "$commit" --engine-version "$3")
}

# The runtime a recipe profile of BACKEND without `runtime:` runs on: the registry decides, not this script.
default_runtime() {
  "$AIMGEN_PYTHON" -c 'import sys; from aimgen.runtimes.registry import runtime_for_backend as of
print(of(sys.argv[1]).name)' "$1"
}

shopt -s nullglob
selected() {  # the committed snapshots to check, one per line: snapshot path, runtime dir, engine, version
  local snapshot base
  for snapshot in runtimes/*/snapshots/*.json; do
    base=$(basename "$snapshot" .json)
    if [[ -n "${ENGINE_VERSIONS:-}" && " $ENGINE_VERSIONS " != *" ${base##*-} "* ]]; then continue; fi
    echo "$snapshot $(dirname "$(dirname "$snapshot")") ${base%-*} ${base##*-}"
  done
}

# Installs are mostly download and unpack: run them side by side (2 cores), then check one by one.
pids=()
while read -r snapshot runtime_dir engine version; do
  if from_source "$runtime_dir"; then continue; fi
  install_engine ".venv-engines-$engine-$version" "$engine" "$version" "$runtime_dir/snapshot-deps.txt" &
  pids+=($!)
done < <(selected)
for pid in "${pids[@]}"; do wait "$pid" || true; done

# fd 3 carries the list, so nothing in the loop body can swallow it by reading stdin.
while read -r snapshot runtime_dir engine version <&3; do
  base=$(basename "$snapshot" .json)          # e.g. vllm-0.33.0, sglang-0.5.12
  t0=$SECONDS
  if from_source "$runtime_dir"; then
    source_tool "$runtime_dir" "$engine" "$version" || continue
  else
    venv=".venv-engines-$engine-$version"
    if ! install_engine "$venv" "$engine" "$version" "$runtime_dir/snapshot-deps.txt"; then
      failures=$((failures + 1)); continue
    fi
    tool=("$PWD/$venv/bin/python" "$SNAPSHOT_TOOL" --engine "$engine")
  fi
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && "${tool[@]}" snapshot --out "$tmp/$base.json"); then
    log "FAIL: $engine $version: snapshot generation failed"; failures=$((failures + 1)); rm -rf "$tmp"; continue
  fi
  if [[ $UPDATE == 1 ]]; then
    cp "$tmp/$base.json" "$snapshot"; log "updated $snapshot"
  elif ! diff -u "$snapshot" "$tmp/$base.json" >"$tmp/diff"; then
    head -60 "$tmp/diff"
    log "FAIL: $snapshot differs from what $engine $version produces (run scripts/test-engines.sh --update and review)"
    failures=$((failures + 1))
  else
    log "ok: $snapshot matches $engine $version"
  fi
  rm -rf "$tmp"
  # Each version parses the recipe profiles that run on its runtime (the folder it lies in): the ones that
  # runtime serves at its pinned version, or would serve if the pin moved to this one. Only the version the
  # runtime pins can fail the run.
  pinned=$(sed -n 's/^engine_version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$runtime_dir/runtime.yaml")
  backend=$(sed -n 's/^backend: *\([^ ]*\) *$/\1/p' "$runtime_dir/runtime.yaml")
  runtime=$(basename "$runtime_dir")
  if ! default=$(default_runtime "$backend"); then
    log "FAIL: aimgen's registry names no runtime for backend $backend ($AIMGEN_PYTHON; make dev)"
    failures=$((failures + 1)); continue
  fi
  if "${tool[@]}" parse-recipes --recipes "$RECIPES" \
      --runtime "$runtime" --default-runtime "$default"; then
    log "ok: recipes that run on $runtime parse with $engine $version"
  elif [[ "$pinned" == "$version" ]]; then
    log "FAIL: recipes rejected by $engine $version (the pinned version)"; failures=$((failures + 1))
  else
    log "note: recipes rejected by $engine $version (not the pinned $pinned; informational)"
  fi
  checked=$((checked + 1))
  log "$engine $version done in $((SECONDS - t0)) s"
done 3< <(selected)

not_checked=""
[[ $unchecked == 0 ]] || not_checked=", $unchecked not checked (no source checkout)"
log "$checked engine versions checked in $((SECONDS - start_all)) s, $failures failed$not_checked"
[[ $((checked + unchecked + failures)) -gt 0 ]] || { log "FAIL: no snapshots found under runtimes/*/snapshots"; exit 1; }
[[ $failures == 0 ]]
