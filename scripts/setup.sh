#!/usr/bin/env bash
# The lab's one install path: a bare Debian 12 / Ubuntu 22.04 / 24.04 host, the Vagrant VM, GitHub
# Actions and .ci/run all call this script, as root. It is idempotent: running it twice is harmless.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh installs packages and mounts filesystems: run it as root (sudo scripts/setup.sh)" >&2
  exit 2
fi

# System packages. The distribution's HAProxy is the sidecar; iperf3 and sockperf drive
# traffic; clang/llvm/libbpf/bpftool build and load the BPF programs.
packages=(
  iproute2 iptables nftables conntrack ethtool procps psmisc util-linux kmod iputils-ping
  iperf3 sockperf haproxy
  clang llvm libbpf-dev linux-libc-dev make gcc
)
# bpftool is its own package on Debian 12 and Ubuntu 24.04; Ubuntu 22.04 ships it in linux-tools.
# What is already installed decides first, so a second run asks no mirror (no apt-get update).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if installed bpftool; then
  packages+=(bpftool)
elif installed "linux-tools-$(uname -r)"; then
  packages+=(linux-tools-common "linux-tools-$(uname -r)")
elif apt-cache show bpftool >/dev/null 2>&1 || { apt-get update -qq && apt-cache show bpftool >/dev/null 2>&1; }; then
  packages+=(bpftool)
else
  packages+=(linux-tools-common "linux-tools-$(uname -r)")
fi
# Ubuntu kernels keep some netfilter modules (TPROXY among them) in linux-modules-extra; add it only
# when the running kernel lacks the module and the package exists (never on Debian).
# shellcheck source=/dev/null
os_id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
if [ "$os_id" = ubuntu ] && ! modinfo xt_TPROXY >/dev/null 2>&1 &&
   apt-cache show "linux-modules-extra-$(uname -r)" >/dev/null 2>&1; then
  packages+=("linux-modules-extra-$(uname -r)")
fi
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Never let the distribution start its own HAProxy service: the lab starts one per pod.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$created_policy" = 1 ] && rm -f "$policy"
else
  echo "setup: system packages already installed (${#packages[@]} checked)"
fi
# A distribution HAProxy service left running would be mistaken for a lab sidecar.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled haproxy >/dev/null 2>&1; then
  systemctl disable --now haproxy >/dev/null 2>&1 || true
fi

# Kernel filesystems the lab reads and writes.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
if ! awk '$3=="cgroup2"{found=1} END{exit !found}' /proc/mounts; then
  mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified
fi
modprobe -q nf_tproxy_ipv4 2>/dev/null || true
modprobe -q xt_TPROXY 2>/dev/null || true

# Node dependencies (exact versions from the lock file). Node itself is not a distribution package
# here (Debian 12 ships 18, Ubuntu 22.04 ships 12): the host brings it (the Vagrantfile installs the
# official build, the GitHub workflow uses actions/setup-node).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: node and npm are not on root's PATH: install Node.js >= 20.19 first" >&2
  echo "       (under sudo, secure_path must find them: /usr/local/bin or /usr/bin)" >&2
  exit 2
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "setup: Node.js $(node --version) at $(command -v node) is too old: the lab needs >= 20.19" >&2
  exit 2
fi
# npm ci deletes and rebuilds node_modules; skip it when node_modules already holds exactly what
# package-lock.json names (and the lock still matches package.json), so a second run is a no-op.
lock_installed() {
  [ -f package-lock.json ] && [ -d node_modules ] || return 1
  node - <<'NODE'
const fs = require("node:fs");
const read = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const pkg = read("package.json"), lock = read("package-lock.json");
const root = (lock.packages && lock.packages[""]) || {};
const same = (a = {}, b = {}) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
for (const k of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]) {
  if (!same(pkg[k], root[k])) process.exit(1);
}
for (const [path, meta] of Object.entries(lock.packages || {})) {
  if (!path || meta.link) continue;
  let version;
  try { version = read(`${path}/package.json`).version; } catch {
    if (meta.optional || meta.devOptional) continue; // platform-specific optional packages
    process.exit(1);
  }
  if (version !== meta.version) process.exit(1);
}
NODE
}
if lock_installed; then
  echo "setup: node_modules matches package-lock.json (npm ci skipped)"
elif [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

# BPF objects, when the build exists (scripts/build-bpf.sh is the one command that builds bpf/).
if [ -x scripts/build-bpf.sh ]; then scripts/build-bpf.sh; fi

echo "setup: done. Next: npm test (or npx lab doctor)"
