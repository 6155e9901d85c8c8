#!/usr/bin/env bash
# fortio from its GitHub release: the Debian package, or the release tarball if that asset is missing.
# Used by the Vagrantfile and by the GitHub workflow, the two places that can reach GitHub; fortio is
# in neither Debian nor npm. FORTIO_VERSION picks the release (default pinned below).
set -euo pipefail
v="${FORTIO_VERSION:-1.75.2}"
have=$(dpkg-query -W -f='${Version}' fortio 2>/dev/null || true)
case "$have" in
  "$v"|"$v"-*) echo "fortio: $v already installed"; exit 0 ;;
esac
if [ -x /usr/local/bin/fortio ] && /usr/local/bin/fortio version 2>/dev/null | grep -q "^${v}\b"; then
  echo "fortio: $v already installed in /usr/local/bin"; exit 0
fi
arch=$(dpkg --print-architecture)
base="https://github.com/fortio/fortio/releases/download/v${v}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt's _apt user reads the local .deb from here
cd "$tmp"
export DEBIAN_FRONTEND=noninteractive
if curl -fsSL --retry 3 -o fortio.deb "${base}/fortio_${v}_${arch}.deb"; then
  apt-get install -y -qq ./fortio.deb
else
  echo "fortio: no .deb for ${arch}, using the release tarball"
  curl -fsSL --retry 3 -o fortio.tgz "${base}/fortio-linux_${arch}-${v}.tgz"
  tar -xzf fortio.tgz usr/bin/fortio
  install -m 0755 usr/bin/fortio /usr/local/bin/fortio
fi
command -v fortio >/dev/null || { echo "fortio: install failed" >&2; exit 1; }
echo "fortio: $(fortio version)"
