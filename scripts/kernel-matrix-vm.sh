#!/usr/bin/env bash
# One cell of the kernel matrix (.github/workflows/lab.yml, job `kernels`): runs as root inside a
# little-vm-helper VM whose /host is the checkout. It sets the VM up with scripts/setup.sh, then runs
# `lab doctor --json`, `lab verify --json` for every backend in both placements, and
# `lab bench --quick`, and writes everything under reports/kernels/<label>/:
#   uname.txt             the VM's `uname -r`
#   setup.log             scripts/setup.sh's output
#   doctor.json           `lab doctor --json` (each backend: supported / unsupported with the reason)
#   probe/                `lab doctor --save-probe`: bpftool's feature probe and the lab's own probes
#   verify/<b>-<p>.json   `lab verify --json`, or {"unsupported": reason} for a backend doctor
#                         reports unsupported on this kernel (not run, and not a failure)
#   bench/                `lab bench --quick` over the supported backends (results.json, report.md),
#                         with a copy of doctor.json: `lab report --merge` reads it to tell
#                         "unsupported on this kernel" apart from "not run"
#   summary.json          what ran and how it ended
# The cell fails when set-up fails, doctor is not ready, a supported backend's verify fails (a
# feature that exists but misbehaves), or the bench fails.
#
#   usage: scripts/kernel-matrix-vm.sh LABEL [BACKEND...]
#   LABEL: the matrix entry (e.g. 6.1-20260817.013106); BACKENDs: only these (default: every backend
#   doctor lists), to try the script on one machine without the whole matrix.
set -uo pipefail
label=${1:?usage: scripts/kernel-matrix-vm.sh LABEL [BACKEND...]}
shift
only=("$@")
cd "$(dirname "$0")/.." || exit 2
if [ "$(id -u)" -ne 0 ]; then
  echo "kernel-matrix-vm.sh runs the lab as root: run it inside the VM as root" >&2
  exit 2
fi
# The runner's Node (actions/setup-node), copied into the tree by the workflow: the VM's Debian
# image has no Node.js of its own.
if [ -x .ci-node/bin/node ]; then export PATH="$PWD/.ci-node/bin:$PATH"; fi
out="reports/kernels/$label"
mkdir -p "$out/verify"
failed=()
lab() { node bin/lab.mjs "$@"; }
# Reads a JSON file with node (no jq needed): prints the value of a JS expression over `r`.
json() { node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(Array.isArray(v) ? v.join("\n") : v);' "$1" "$2"; }

uname -r | tee "$out/uname.txt"
if ! bash scripts/setup.sh >"$out/setup.log" 2>&1; then
  tail -40 "$out/setup.log" >&2
  echo "kernel-matrix: scripts/setup.sh failed" >&2
  exit 1
fi

lab doctor --json --save-probe "$out/probe" >"$out/doctor.json"
doctor_rc=$?
[ "$doctor_rc" -eq 0 ] || failed+=("doctor exited $doctor_rc")
lab doctor >&2 || true # the same findings, readable, in the job log

mapfile -t backends < <(json "$out/doctor.json" 'r.backends.map((b) => b.backend)')
if [ ${#only[@]} -gt 0 ]; then backends=("${only[@]}"); fi
supported=()
for backend in "${backends[@]}"; do
  status=$(json "$out/doctor.json" "r.backends.find((b) => b.backend === '$backend').status")
  [ "$status" = supported ] && supported+=("$backend")
  for placement in same-node cross-node; do
    file="$out/verify/$backend-$placement.json"
    if [ "$status" = supported ]; then
      lab verify --backend "$backend" --placement "$placement" --json >"$file"
      rc=$?
      [ "$rc" -eq 0 ] || failed+=("verify $backend $placement exited $rc")
    else
      reason=$(json "$out/doctor.json" "r.backends.find((b) => b.backend === '$backend').reason")
      node -e 'console.log(JSON.stringify({ backend: process.argv[1], placement: process.argv[2], unsupported: process.argv[3] }, null, 2))' "$backend" "$placement" "$reason" >"$file"
      echo "kernel-matrix: $backend / $placement not run: $reason" >&2
    fi
  done
done

bench_rc=skipped
if [ ${#supported[@]} -gt 0 ]; then
  list=$(IFS=,; echo "${supported[*]}")
  lab bench --quick --backends "$list" --out "$out/bench"
  bench_rc=$?
  [ "$bench_rc" -eq 0 ] || failed+=("bench exited $bench_rc")
  [ -d "$out/bench" ] && cp "$out/doctor.json" "$out/bench/doctor.json"
fi

node -e '
const [label, kernel, doctorRc, benchRc, failures] = process.argv.slice(1);
console.log(JSON.stringify({ label, kernel, doctorExit: Number(doctorRc), benchExit: benchRc === "skipped" ? null : Number(benchRc), failures: failures ? failures.split("\n") : [] }, null, 2));
' "$label" "$(uname -r)" "$doctor_rc" "$bench_rc" "$(printf '%s\n' "${failed[@]}" | sed '/^$/d')" >"$out/summary.json"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'kernel-matrix: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "kernel-matrix: $label ($(uname -r)): ${#supported[@]} of ${#backends[@]} backends supported, all verified, bench done"
