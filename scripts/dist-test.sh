#!/usr/bin/env bash
# `make dist-test`: the packages of `make dist`, run as an IT volunteer would run them.
#   Windows (under Debian's wine; no Windows machine here): the zip's Dermal.exe --version,
#   doctor, classify --json on a fixture (probabilities compared with the Linux build), the
#   window under Xvfb (screenshot, checked not blank); the installer installs silently, adds the
#   Start-menu entry, the installed program writes records, the uninstaller removes the program
#   and keeps the records.
#   Linux: the tar.xz unpacked into an empty folder runs doctor healthy and opens its window
#   under Xvfb; the .deb's files do the same.
# Screenshots and logs: build/dist/test/. Exit status 0 only if every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --dist >/dev/null
OUT=build/dist
T=$OUT/test
rm -rf "$T" && mkdir -p "$T"
T=$(realpath "$T")
# The version `make dist` stamped (build/dist/VERSION), not the tree's: the tree may have moved on.
[ -f "$OUT/VERSION" ] || { echo "dist-test: no $OUT/VERSION: run make dist first" >&2; exit 1; }
VERSION=$(cat "$OUT/VERSION")
[ "$VERSION" = "$(scripts/version.sh)" ] || echo "dist-test: note: testing the packages of $VERSION; the tree is now $(scripts/version.sh)"
FIXTURE=$(realpath internal/inference/testdata/fixtures/ISIC_0024311.png)
fails=0
pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# check_into FILE WHAT CMD...: check, with the command's standard output kept in FILE.
check_into() { local file=$1 what=$2; shift 2; if "$@" > "$file"; then pass "$what"; else fail "$what (see $file)"; fi; }

# not_blank PNG: a drawn window has many colours and contrast; a blank or black screen has not.
not_blank() {
  local colours sd
  colours=$(convert "$1" -format %k info:)
  sd=$(convert "$1" -colorspace gray -format '%[fx:standard_deviation]' info:)
  echo "      $1: $colours colours, grey standard deviation $sd"
  [ "$colours" -gt 64 ] && awk -v s="$sd" 'BEGIN { exit !(s > 0.03) }'
}

# --- Linux tar.xz ---------------------------------------------------------------------------
# The data folders are private (0700), as a clinic's must be: doctor fails one others can read.
lin=$T/linux && mkdir -p "$lin/unpacked" && mkdir -p "$lin/data" && chmod 700 "$lin/data"
tar -xJf "$OUT/Dermal-$VERSION-linux-x64.tar.xz" -C "$lin/unpacked"
ldermal=$(find "$lin/unpacked" -path '*/usr/local/bin/dermal')
check "linux: --version says $VERSION" test "$("$ldermal" --version)" = "Dermal $VERSION"
check_into "$lin/doctor.txt" "linux: doctor is healthy (no LD_LIBRARY_PATH)" env -u LD_LIBRARY_PATH "$ldermal" --data "$lin/data" doctor
check "linux: doctor loads ONNX Runtime from beside the binary" grep -q "/usr/local/lib/dermal/libonnxruntime.so.1" "$lin/doctor.txt"
check "linux: the .desktop entry starts dermal" grep -q '^Exec=dermal' "$(dirname "$ldermal")/../share/applications/org.dermal.app.desktop"
"$ldermal" classify --json "$FIXTURE" > "$lin/classify.json"
check "linux: the window opens (screenshot)" env DERMAL_BIN="$ldermal" scripts/screenshot.sh "$lin/window.png" en "$lin/data"
check "linux: the window is not blank" not_blank "$lin/window.png"

# The tarball's own Makefile, as the README tells the IT volunteer: user-install into a
# scratch home, then the installed program runs from anywhere.
(cd "$(dirname "$ldermal")/../../.." && HOME=$lin/home make -s user-install) > "$lin/user-install.log" 2>&1
check_into /dev/null "linux: make user-install puts a working dermal in ~/.local/bin" env -u LD_LIBRARY_PATH "$lin/home/.local/bin/dermal" --data "$lin/data" doctor
check "linux: make user-install's .desktop entry points at it" grep -q "^Exec=$lin/home/.local/bin/dermal" "$lin/home/.local/share/applications/org.dermal.app.desktop"
(cd "$(dirname "$ldermal")/../../.." && HOME=$lin/home make -s user-uninstall) >> "$lin/user-install.log" 2>&1
check "linux: make user-uninstall removes it" test ! -e "$lin/home/.local/bin/dermal"

deb=$T/deb && mkdir -p "$deb/root" && mkdir -p "$deb/data" && chmod 700 "$deb/data"
debfile=$(ls "$OUT"/dermal_*_amd64.deb)
dpkg-deb -x "$debfile" "$deb/root"
dpkg-deb -f "$debfile" Package Version Depends > "$deb/control.txt"
check "deb: control names the package and its version" grep -q "^Version: $(echo "$VERSION" | tr -- '-' '~')$" "$deb/control.txt"
check_into "$deb/doctor.txt" "deb: /usr/bin/dermal runs doctor healthy" "$deb/root/usr/bin/dermal" --data "$deb/data" doctor
check "deb: the .desktop entry and icon are installed" test -f "$deb/root/usr/share/applications/org.dermal.app.desktop" -a -f "$deb/root/usr/share/pixmaps/org.dermal.app.png"

# --- Windows under wine ---------------------------------------------------------------------
export WINEPREFIX=$T/wine WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
win=$T/windows && mkdir -p "$win"
(cd "$win" && unzip -q "$(realpath "../../Dermal-$VERSION-windows-x64.zip")")
echo "      starting a wine prefix (first start: about a minute)"
wineboot -i > "$win/wineboot.log" 2>&1 || true
wineserver -w
# wine 8.0 lacks Windows 10's bcryptprimitives.dll, which Go's runtime needs at start-up: a
# test-only shim goes into this prefix (packaging/wine/bcryptprimitives.c says why); never shipped.
x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  packaging/wine/bcryptprimitives.c -ladvapi32
wexe=$win/Dermal/Dermal.exe
# The version resource fyne package linked in from FyneApp.toml (UTF-16 strings in the .exe).
check "windows: Dermal.exe carries its version resource ($(scripts/version.sh --numeric))" \
  bash -c 'strings -el "$0" | grep -q "^$1" && strings -el "$0" | grep -qx "Dermal"' "$wexe" "$(scripts/version.sh --numeric)"
wfix=$(winepath -w "$FIXTURE")
# wine passes the shell's standard output to the program; CRs are Windows line ends.
wine "$wexe" --version > "$win/version.txt" 2> "$win/version.err" || true
check "windows: Dermal.exe --version says $VERSION" test "$(tr -d '\r' < "$win/version.txt")" = "Dermal $VERSION"
if wine "$wexe" doctor > "$win/doctor.txt" 2> "$win/doctor.err"; then pass "windows: doctor is healthy"; else fail "windows: doctor (see $win/doctor.txt)"; cat "$win/doctor.txt"; fi
check "windows: doctor loads onnxruntime.dll from beside Dermal.exe" grep -qi 'Dermal\\onnxruntime.dll' "$win/doctor.txt"
check "windows: the data folder is in %LOCALAPPDATA%" grep -qi 'AppData\\Local\\Dermal' "$win/doctor.txt"
wine "$wexe" classify --json "$wfix" > "$win/classify.json" 2> "$win/classify.err" || true
# Same ONNX Runtime version, same CPU, same int8 kernels (MLAS picks them by CPUID on either
# system), and the same Go code: the logits should agree to float32 rounding. The two libraries
# are built by different compilers (MSVC, GCC), which may contract a*b+c differently in the
# float parts (dequantize, Gemm, ReduceMean): one ulp there can flip one int8 rounding of an
# activation, which moves a logit by at most about one quantization step of the last layers
# (~0.02). A probability is softmax'd logits at T~1: it moves by at most a quarter of that.
check "windows: classify --json matches the Linux build (|dp| <= 0.005)" /usr/bin/python3 - "$lin/classify.json" "$win/classify.json" <<'PY'
import json, sys
a, b = (json.loads(open(p, encoding="utf-8-sig").readline()) for p in sys.argv[1:3])
a, b = a["probabilities"], b["probabilities"]
d = max(abs(a[k] - b[k]) for k in a)
print(f"      largest probability difference, Windows vs Linux: {d:.2e}")
sys.exit(0 if set(a) == set(b) and d <= 0.005 else 1)
PY
# The window, under Xvfb. The wineserver the commands above started has no display: wait for it
# to end, so that this one starts inside Xvfb (else: "Failed to create helper window").
wineserver -w
xvfb-run -a -s "-screen 0 1366x768x24" bash -c '
  wine "$0" > "$1/window.log" 2>&1 & pid=$!
  for i in $(seq 90); do
    sleep 1
    import -window root "$1/window.png" 2>/dev/null || continue
    [ "$(convert "$1/window.png" -format %k info:)" -gt 64 ] && break
  done
  sleep 3; import -window root "$1/window.png"
  kill $pid 2>/dev/null; wineserver -k 2>/dev/null || true
' "$wexe" "$win" || true
wineserver -w 2>/dev/null || true
if [ -f "$win/window.png" ] && not_blank "$win/window.png"; then pass "windows: the window draws under wine"; else
  fail "windows: the window under wine (log: $win/window.log)"; tail -20 "$win/window.log" || true; fi

# The installer: silent install, Start-menu entry, records written by the installed program,
# silent uninstall that keeps them.
local_app=$(winepath -u 'C:\users' 2>/dev/null)/$(whoami)/AppData/Local
start_menu=$(winepath -u 'C:\users' 2>/dev/null)/$(whoami)/AppData/Roaming/Microsoft/Windows/Start\ Menu/Programs
wine "$(realpath "$OUT/Dermal-$VERSION-windows-x64-setup.exe")" /S > "$win/install.log" 2>&1 || true
wineserver -w
inst=$local_app/Programs/Dermal
check "installer: Dermal.exe and onnxruntime.dll installed in %LOCALAPPDATA%\\Programs\\Dermal" test -f "$inst/Dermal.exe" -a -f "$inst/onnxruntime.dll"
check "installer: Start-menu entry" test -f "$start_menu/Dermal.lnk"
check "installer: uninstaller" test -f "$inst/Uninstall Dermal.exe"
wine "$inst/Dermal.exe" patients add --name "Nguyễn Thị Hồng" --code BN-1 > "$win/patient.txt" 2>&1 || true
check "installed program: records written to %LOCALAPPDATA%\\Dermal" test -f "$local_app/Dermal/dermal.db"
wine "$inst/Uninstall Dermal.exe" /S > "$win/uninstall.log" 2>&1 || true
wineserver -w
sleep 2; wineserver -w
check "uninstaller: program removed" test ! -e "$inst/Dermal.exe"
check "uninstaller: Start-menu entry removed" test ! -e "$start_menu/Dermal.lnk"
check "uninstaller: records kept" test -f "$local_app/Dermal/dermal.db"
wine "$wexe" --data "$(winepath -w "$local_app/Dermal")" patients list > "$win/after.txt" 2>&1 || true
check "records still open after uninstall (the patient is there)" grep -q "BN-1" "$win/after.txt"

echo "dist-test: $fails failed"
[ "$fails" -eq 0 ]
