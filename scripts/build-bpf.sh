#!/usr/bin/env bash
# Builds every BPF program in bpf/ (bpf/**/*.bpf.c) into bpf/build/<name>.bpf.o, and the native
# helpers in bpf/tools/: the one command that builds bpf/ from a clean checkout. BPF programs use
# clang -target bpf with BTF (-g), against the installed kernel UAPI headers and libbpf's bpf_helpers.h.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang >/dev/null || { echo "clang is missing: run scripts/setup.sh" >&2; exit 2; }
arch_include="/usr/include/$(uname -m)-linux-gnu"
mkdir -p bpf/build
shopt -s nullglob globstar
built=0
for src in bpf/**/*.bpf.c; do
  out="bpf/build/$(basename "${src%.c}").o"
  if [ ! -f "$out" ] || [ "$src" -nt "$out" ] || [ -n "$(find bpf -name '*.h' -newer "$out" -print -quit)" ]; then
    clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I bpf/include -I "$arch_include" -c "$src" -o "$out"
    built=$((built + 1))
  fi
done
# Small native helpers the lab runs beside the BPF programs (bpf/tools/*.c), built for the host.
# A helper that includes libbpf links against it (Debian's libbpf-dev, installed by setup.sh).
for src in bpf/tools/*.c; do
  out="bpf/build/$(basename "${src%.c}")"
  if [ ! -f "$out" ] || [ "$src" -nt "$out" ] || [ -n "$(find bpf -name '*.h' -newer "$out" -print -quit)" ]; then
    libs=(); grep -q '<bpf/libbpf.h>' "$src" && libs=(-lbpf)
    cc -O2 -Wall -Werror -o "$out" "$src" "${libs[@]}"
    built=$((built + 1))
  fi
done
echo "build-bpf: $built object(s) rebuilt in bpf/build/"
