#!/usr/bin/env bash
# The lab's one install path: a bare Debian 12 / Ubuntu 22.04 / 24.04 host, the Vagrant VM, GitHub
# Actions and .ci/run all call this script, as root. It is idempotent: running it twice is harmless.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh installs packages and mounts filesystems: run it as root (sudo scripts/setup.sh)" >&2
  exit 2
fi

# System packages. The distribution's HAProxy is the sidecar; iperf3, sockperf and hey drive
# traffic; clang/llvm/libbpf/bpftool build and load the BPF programs.
packages=(
  iproute2 iptables conntrack ethtool procps psmisc util-linux kmod iputils-ping
  iperf3 sockperf hey haproxy
  clang llvm libbpf-dev linux-libc-dev make gcc
)
# bpftool is its own package on Debian 12 and Ubuntu 24.04; Ubuntu 22.04 ships it in linux-tools.
if apt-cache show bpftool >/dev/null 2>&1 || { apt-get update -qq && apt-cache show bpftool >/dev/null 2>&1; }; then
  packages+=(bpftool)
else
  packages+=(linux-tools-common "linux-tools-$(uname -r)")
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
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

# Node dependencies (exact versions from the lock file).
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

# BPF objects, when the build exists (scripts/build-bpf.sh is the one command that builds bpf/).
if [ -x scripts/build-bpf.sh ]; then scripts/build-bpf.sh; fi

echo "setup: done. Next: npm test (or npx lab doctor)"
