#!/usr/bin/env bash
# `make dist`: Dermal's installable packages, built on this Linux machine with nothing but the
# package registries: build/dist/
#   Dermal-VERSION-windows-x64-setup.exe   NSIS installer (Start menu entry, uninstaller)
#   Dermal-VERSION-windows-x64.zip         the same files, to unpack anywhere
#   Dermal-VERSION-linux-x64.tar.xz        `fyne package` layout, ONNX Runtime beside the binary
#   dermal_DEBVERSION_amd64.deb            the same under /usr
# The Windows build is Fyne's cgo build cross-compiled with Debian's mingw-w64, its icon and
# version resource made by `fyne package` from FyneApp.toml; onnxruntime.dll comes from the
# same pinned onnxruntime-node package as the Linux library, with its own SHA-256 (deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --dist

VERSION=$(scripts/version.sh)
NUMERIC=$(scripts/version.sh --numeric)
BUILDNO=$(git rev-list --count HEAD 2>/dev/null || echo 1)
OUT=build/dist
FYNE="go run fyne.io/tools/cmd/fyne@v1.7.4"
STAMP="-X=dermal/internal/version.stamped=$VERSION"
rm -rf "$OUT" && mkdir -p "$OUT"
echo "dist: Dermal $VERSION"

# --- Linux x86-64 ---------------------------------------------------------------------------
mkdir -p "$OUT/linux-build"
go build -trimpath -tags no_emoji -ldflags "-s -w $STAMP" -o "$OUT/linux-build/dermal" .
rm -f Dermal.tar.xz
$FYNE package -os linux --release --exe "$OUT/linux-build/dermal" --name Dermal --app-id org.dermal.app \
  --app-version "$NUMERIC" --app-build "$BUILDNO" --icon internal/assets/icon.png
# fyne's tree is usr/local/{bin/dermal,share/applications,share/pixmaps}. The binary moves to
# usr/local/lib/dermal/ beside libonnxruntime.so.1 (Dermal looks beside its own executable,
# through symlinks: no LD_LIBRARY_PATH, and no second libonnxruntime in the system's lib folder),
# and usr/local/bin/dermal becomes a relative symlink to it.
tree="$OUT/linux-tree"
mkdir -p "$tree" && tar -xJf Dermal.tar.xz -C "$tree" && rm -f Dermal.tar.xz
prefix=$(dirname "$(find "$tree" -path '*/bin/dermal' | head -1)")/..
mkdir -p "$prefix/lib/dermal"
mv "$prefix/bin/dermal" "$prefix/lib/dermal/dermal"
cp lib/libonnxruntime.so.1 "$prefix/lib/dermal/"
cp packaging/NOTICE.txt "$prefix/lib/dermal/"
ln -s ../lib/dermal/dermal "$prefix/bin/dermal"
tar -C "$tree" --owner=0 --group=0 -cJf "$OUT/Dermal-$VERSION-linux-x64.tar.xz" .

# .deb: the same files under /usr (Debian's place for packaged programs).
deb="$OUT/deb"
DEBVERSION=$(echo "$VERSION" | tr -- '-' '~')
mkdir -p "$deb/DEBIAN" "$deb/usr"
cp -a "$prefix/." "$deb/usr/"
rm -f "$deb/usr/Makefile"
sed -i 's#/usr/local/#/usr/#g' "$deb"/usr/share/applications/*.desktop
size=$(du -sk "$deb/usr" | cut -f1)
cat > "$deb/DEBIAN/control" <<CONTROL
Package: dermal
Version: $DEBVERSION
Architecture: amd64
Maintainer: Dermal developers <dermal@example.invalid>
Installed-Size: $size
Depends: libc6, libgl1, libx11-6, libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1
Section: science
Priority: optional
Description: offline skin-lesion triage and case records for clinics
 Classifies a dermoscopic photo into the seven HAM10000 classes with a local int8 model, shows
 a Grad-CAM heatmap, and keeps each patient's assessments in a local database with PDF
 reports. Decision support, not a diagnosis. Works without internet.
CONTROL
dpkg-deb --root-owner-group --build "$deb" "$OUT/dermal_${DEBVERSION}_amd64.deb" >/dev/null

# --- Windows x86-64 -------------------------------------------------------------------------
# fyne package -os windows builds dermal.exe itself (release: -H=windowsgui -s -w -trimpath)
# with the icon, manifest and version resource linked in; the version stamp rides in GOFLAGS.
rm -f Dermal.exe dermal.exe
CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ GOFLAGS="-tags=no_emoji -ldflags=$STAMP" \
  $FYNE package -os windows --release --tags no_emoji --name Dermal --app-id org.dermal.app \
  --app-version "$NUMERIC" --app-build "$BUILDNO" --icon internal/assets/icon.png
win="$OUT/windows/Dermal"
mkdir -p "$win"
mv Dermal.exe "$win/Dermal.exe"
cp lib/windows-x64/onnxruntime.dll "$win/"
sed "s/VERSION/$VERSION/" packaging/windows/README.txt | sed 's/$/\r/' > "$win/README.txt"
sed 's/$/\r/' packaging/NOTICE.txt > "$win/NOTICE.txt"
(cd "$OUT/windows" && zip -qr9 "../Dermal-$VERSION-windows-x64.zip" Dermal)
convert internal/assets/icon.png -define icon:auto-resize=256,64,48,32,16 "$OUT/windows/dermal.ico"
makensis -V2 -DVERSION="$VERSION" -DNUMVERSION="$NUMERIC" -DSRC="$(realpath "$win")" \
  -DICON="$(realpath "$OUT/windows/dermal.ico")" \
  -DOUTFILE="$(realpath "$OUT")/Dermal-$VERSION-windows-x64-setup.exe" packaging/windows/dermal.nsi

echo "dist: built in $OUT"
(cd "$OUT" && ls -l --block-size=K -- *.exe *.zip *.tar.xz *.deb | awk '{print "  " $5 "  " $9}')
