#!/usr/bin/env bash
# make wheel: the self-contained wheel. Usage: build-wheel.sh BUILD_DIR CLI DIST_DIR
# Builds bindings/python against the PIC archives of build-deps.sh (BUILD_DIR/deps) with
# the C CLI inside, lets auditwheel vendor what stays shared (libcurl and its TLS stack)
# and tag the wheel manylinux, adds the licence texts of every bundled library, and
# writes the wheel's path to BUILD_DIR/wheel/path.
set -euo pipefail
BUILD=$(cd "$1" && pwd); CLI=$(realpath "$2"); DIST=$3
PYTHON=${PYTHON:-python3}
OUT=$BUILD/wheel
rm -rf "$OUT/raw" "$OUT/repaired" "$OUT/unpacked"
mkdir -p "$OUT" "$DIST"

LUACONN_STATIC_DEPS=$BUILD/deps/prefix LUACONN_CLI_BINARY=$CLI \
  "$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$OUT/raw" ./bindings/python
"$PYTHON" -m auditwheel repair -w "$OUT/repaired" "$OUT/raw"/luaconn-*.whl >/dev/null

# Licence texts: the static archives' Debian copyright files, and for every library
# auditwheel vendored (luaconn.libs/NAME-HASH.so.N) the copyright of the Debian package
# that holds NAME.so.N on this machine.
"$PYTHON" -m wheel unpack -d "$OUT/unpacked" "$OUT/repaired"/luaconn-*.whl >/dev/null
root=$(ls -d "$OUT/unpacked"/luaconn-*)
licenses=$root/luaconn/licenses
mkdir -p "$licenses"
cp "$BUILD/deps/licenses"/*.copyright "$licenses/"
# Which Debian source packages (security updates included) the archives were built from.
head -n -1 "$BUILD/deps/stamp" > "$licenses/SOURCES"
# Libraries vendored as source (runtime/third_party/NAME) carry their own licence.
for vendored in runtime/third_party/*/; do
  cp "$vendored/LICENSE" "$licenses/$(basename "$vendored").copyright"
done
for vendored in "$root"/luaconn.libs/*.so*; do
  soname=$(basename "$vendored" | sed -E 's/-[0-9a-f]{8}\././')
  pkg=$(dpkg -S "*/$soname" 2>/dev/null | head -n1 | cut -d: -f1)
  [[ -n $pkg ]] || { echo "build-wheel: no Debian package holds $soname" >&2; exit 1; }
  cp "/usr/share/doc/$pkg/copyright" "$licenses/${pkg}.copyright"
done
"$PYTHON" -m wheel pack -d "$DIST" "$root" >/dev/null
wheel=$DIST/$(basename "$OUT"/repaired/luaconn-*.whl)
echo "$(realpath "$wheel")" > "$OUT/path"
echo "make wheel: $wheel"
