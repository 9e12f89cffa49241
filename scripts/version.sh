#!/usr/bin/env bash
# Prints Dermal's version from git: the newest v* tag as `git describe` gives it (v0.7.0,
# v0.7.0-3-g1a2b3c4, ...-dirty), without the v; with no tag, FyneApp.toml's version, "-dev+"
# and the commit. `version.sh --numeric` prints only x.y.z (Windows' file version, the .deb).
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(sed -n 's/^ *Version *= *"\([0-9.]*\)".*/\1/p' FyneApp.toml)
if [ "${1:-}" = "--numeric" ]; then
  if d=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null); then echo "${d#v}"; else echo "$base"; fi
  exit 0
fi
if d=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
  echo "${d#v}"
elif c=$(git describe --always --dirty 2>/dev/null); then
  echo "$base-dev+$c"
else
  echo "$base-dev"
fi
