#!/usr/bin/env bash
# Installs what building, testing and running Dermal need on a Debian/Ubuntu machine.
# Idempotent: each step checks first and does nothing when its product is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.24.1
ORT_SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
ORT_LIB=lib/libonnxruntime.so.1
# The Windows x64 DLL from the same npm package (bin/napi-v6/win32/x64), with its own checksum.
ORT_WIN_SHA256=be46630a10f6ed3897fd9d1ec83f6e2577e34851fb1024d685884ed40faed3a7
ORT_WIN_LIB=lib/windows-x64/onnxruntime.dll

APT_PACKAGES="gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
libxi-dev libxxf86vm-dev libgl1-mesa-dri xvfb xauth imagemagick poppler-utils time"
# `deps.sh --test` adds what only the tests need: Chromium drives the phone capture page, and
# QEMU's user-mode emulator runs the int8 parity test on an AVX2-only CPU (inference tests).
# `deps.sh --hub` adds the district hub's engines (make hub): Orthanc, its DICOMweb and
# PostgreSQL plugins, PostgreSQL, nginx as the TLS proxy, openssl for the district's CA.
# dicom3tools' dciodvfy checks every DICOM object a referral makes against its IOD, and the
# referral tests send them to a real Orthanc with its DICOMweb plugin (started by the tests,
# on 127.0.0.1 only); the district hub's tests (packaging/hub) set up the whole hub.
HUB_PACKAGES="orthanc orthanc-dicomweb orthanc-postgresql postgresql nginx-light openssl curl"
[ "${1:-}" = "--test" ] && APT_PACKAGES="$APT_PACKAGES chromium qemu-user dicom3tools dcmtk $HUB_PACKAGES"
[ "${1:-}" = "--hub" ] && APT_PACKAGES="$APT_PACKAGES $HUB_PACKAGES"
# `deps.sh --model` adds what `make model` needs: Debian's PyTorch stack, and jemalloc (Makefile).
[ "${1:-}" = "--model" ] && APT_PACKAGES="$APT_PACKAGES python3-torch python3-torchvision python3-onnx python3-pil python3-numpy libjemalloc2"
# `deps.sh --dist` adds what `make dist` and `make dist-test` need: the mingw-w64 C compiler for
# the Windows cgo build, NSIS for its installer, zip, and wine to run the Windows build here.
DIST=0
[ "${1:-}" = "--dist" ] && DIST=1 && APT_PACKAGES="$APT_PACKAGES gcc-mingw-w64-x86-64 nsis zip xz-utils wine wine64"
# npm fetches the ONNX Runtime build; take Debian's only where the machine has none.
command -v npm >/dev/null || APT_PACKAGES="$APT_PACKAGES npm"

need_apt=()
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "deps: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# fetch_ort MEMBER DEST SHA256: one file of the pinned onnxruntime-node package, checked.
fetch_ort() {
  local member=$1 dest=$2 sum=$3
  [ -f "$dest" ] && echo "$sum  $dest" | sha256sum -c --status && return 0
  echo "deps: fetching $(basename "$dest") of ONNX Runtime $ORT_VERSION (npm package onnxruntime-node)"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-$ORT_VERSION.tgz -C "$tmp" --wildcards "package/bin/napi-v*/$member"
  mkdir -p "$(dirname "$dest")"
  cp "$tmp"/package/bin/napi-v*/$member "$dest.tmp"
  rm -rf "$tmp"
  if ! echo "$sum  $dest.tmp" | sha256sum -c --status; then
    echo "deps: checksum mismatch for $member from onnxruntime-node@$ORT_VERSION:" >&2
    sha256sum "$dest.tmp" >&2
    echo "deps: expected $sum; refusing to use it" >&2
    rm -f "$dest.tmp"; exit 1
  fi
  mv "$dest.tmp" "$dest"
}
fetch_ort linux/x64/libonnxruntime.so.1 "$ORT_LIB" "$ORT_SHA256"
[ "$DIST" = 1 ] && fetch_ort win32/x64/onnxruntime.dll "$ORT_WIN_LIB" "$ORT_WIN_SHA256"

go mod download
