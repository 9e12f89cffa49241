#!/usr/bin/env bash
# Installs what building, testing and running Dermal need on a Debian/Ubuntu machine.
# Idempotent: each step checks first and does nothing when its product is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.24.1
ORT_SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
ORT_LIB=lib/libonnxruntime.so.1

APT_PACKAGES="gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
libxi-dev libxxf86vm-dev libgl1-mesa-dri xvfb xauth imagemagick poppler-utils time"
# `deps.sh --test` adds what only the tests need: Chromium drives the phone capture page, and
# QEMU's user-mode emulator runs the int8 parity test on an AVX2-only CPU (inference tests).
[ "${1:-}" = "--test" ] && APT_PACKAGES="$APT_PACKAGES chromium qemu-user"
# `deps.sh --model` adds what `make model` needs: Debian's PyTorch stack, and jemalloc (Makefile).
[ "${1:-}" = "--model" ] && APT_PACKAGES="$APT_PACKAGES python3-torch python3-torchvision python3-onnx python3-pil python3-numpy libjemalloc2"
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

sha_ok() { [ -f "$1" ] && echo "$ORT_SHA256  $1" | sha256sum -c --status; }
if ! sha_ok "$ORT_LIB"; then
  echo "deps: fetching ONNX Runtime $ORT_VERSION (npm package onnxruntime-node)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-$ORT_VERSION.tgz -C "$tmp" --wildcards 'package/bin/napi-v*/linux/x64/libonnxruntime.so.1'
  mkdir -p lib
  cp "$tmp"/package/bin/napi-v*/linux/x64/libonnxruntime.so.1 "$ORT_LIB.tmp"
  if ! echo "$ORT_SHA256  $ORT_LIB.tmp" | sha256sum -c --status; then
    echo "deps: checksum mismatch for libonnxruntime.so.1 from onnxruntime-node@$ORT_VERSION:" >&2
    sha256sum "$ORT_LIB.tmp" >&2
    echo "deps: expected $ORT_SHA256; refusing to use it" >&2
    rm -f "$ORT_LIB.tmp"; exit 1
  fi
  mv "$ORT_LIB.tmp" "$ORT_LIB"
fi

go mod download
