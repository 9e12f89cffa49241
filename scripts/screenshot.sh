#!/usr/bin/env bash
# Runs the real app under Xvfb and saves a screenshot once the window has drawn.
# usage: [SCREEN=1024x600] scripts/screenshot.sh OUT.png LANG DATA_DIR [dermal flags...]
# Needs xvfb-run and ImageMagick's import (make deps installs both).
set -euo pipefail
out=$1 lang=$2 data=$3; shift 3
bin=${DERMAL_BIN:-bin/dermal}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/.config/fyne/org.dermal.app"
printf '{"language":"%s","clinic_name":"Trạm Y tế xã Đồng Tâm"}' "$lang" > "$home/.config/fyne/org.dermal.app/preferences.json"
export HOME=$home XDG_CONFIG_HOME=$home/.config FYNE_THEME=${FYNE_THEME:-light} LANG=C.UTF-8
xvfb-run -a -s "-screen 0 ${SCREEN:-1366x768}x24" bash -c '
  "$0" --data "$1" "${@:4}" >"$2/app.log" 2>&1 & pid=$!
  # Wait for the window to draw: until the screen is no longer one flat colour (at most 30 s).
  for i in $(seq 60); do
    sleep 0.5
    kill -0 $pid 2>/dev/null || { echo "dermal exited early:" >&2; cat "$2/app.log" >&2; exit 1; }
    import -window root "$3" 2>/dev/null || continue
    colours=$(convert "$3" -format %k info:)
    [ "$colours" -gt 64 ] && break
  done
  sleep ${SETTLE:-2}   # let background loading (photos, Grad-CAM) finish drawing
  import -window root "$3"
  kill $pid; wait $pid 2>/dev/null || true
' "$bin" "$data" "$home" "$out" "$@"
echo "screenshot: $out"
