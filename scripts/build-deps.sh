#!/usr/bin/env bash
# Builds position-independent static archives of LuaJIT and rabbitmq-c from
# Debian's source packages, for the self-contained wheel (Debian's own .a files are not
# PIC, so they cannot go into a Python extension). Usage: build-deps.sh OUTDIR
# Writes OUTDIR/prefix/{include,lib} and OUTDIR/licenses/; a rerun with the same source
# package versions does nothing. apt runs with a private state directory under OUTDIR,
# so the system's apt configuration is left alone.
set -euo pipefail

OUT=$(mkdir -p "$1" && cd "$1" && pwd)
PREFIX=$OUT/prefix
APT=$OUT/apt
SOURCES=(luajit librabbitmq)

apt_opts=(-q -o "Dir::Etc::SourceList=$APT/deb-src.sources" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$APT/lists" -o Dir::Cache=$APT/cache -o APT::Sandbox::User=root)
mkdir -p "$APT/lists/partial" "$APT/cache" "$OUT/src"
# The machine's own Debian sources, as deb-src.
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$APT/deb-src.sources"

# The versions the -dev packages on this machine were built from, and this script: the
# stamp of a build.
versions=$(dpkg-query -W -f='${source:Package} ${source:Version}\n' \
             libluajit-5.1-dev librabbitmq-dev | sort -u)
stamp="$versions
$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if [[ -f $OUT/stamp && "$(cat "$OUT/stamp")" == "$stamp" ]]; then
  exit 0
fi
rm -rf "$PREFIX" "$OUT/src" "$OUT/licenses"
mkdir -p "$PREFIX/lib" "$PREFIX/include" "$OUT/src" "$OUT/licenses"

# Unpacks source package PKG at exactly VERSION (the one the system's library is
# built from, security fixes included) into ./PKG.
unpack() {
  local pkg=$1 version=$2
  if apt-get "${apt_opts[@]}" source --download-only "$pkg=$version" >/dev/null 2>&1; then
    dpkg-source -q -x "${pkg}_${version}.dsc" "$pkg" >/dev/null
    return
  fi
  # Seen on the security archive: this version's .dsc is missing while its debian
  # tarball is there (apt keeps what it fetched). The upstream tarball is the release's;
  # apply this version's debian/ and its patch series by hand, as dpkg-source would.
  apt-get "${apt_opts[@]}" source --download-only "$pkg/bookworm" >/dev/null
  local debian
  debian=$(ls "${pkg}_${version}".debian.tar.* 2>/dev/null) ||
    { echo "build-deps: cannot fetch $pkg $version" >&2; return 1; }
  mkdir "$pkg"
  tar xf "$(ls "${pkg}"_*.orig.tar.* | head -n1)" --strip-components=1 -C "$pkg"
  tar xf "$debian" -C "$pkg"
  local patch
  while read -r patch; do
    [[ -z $patch || $patch == \#* ]] || patch -s -p1 -d "$pkg" < "$pkg/debian/patches/$patch"
  done < "$pkg/debian/patches/series"
}

apt-get "${apt_opts[@]}" update >/dev/null
cd "$OUT/src"
while read -r pkg version; do
  unpack "$pkg" "$version"
  cp "$pkg/debian/copyright" "$OUT/licenses/$pkg.copyright"
done <<< "$versions"

JOBS=$(nproc)
PIC="-O2 -fPIC"

# LuaJIT: the static library only, every object position-independent.
make -s -C luajit/src -j"$JOBS" libluajit.a BUILDMODE=static CFLAGS="$PIC" XCFLAGS=-DLUAJIT_ENABLE_GC64 \
     Q= E=@: >/dev/null
cp luajit/src/libluajit.a "$PREFIX/lib/libluajit-5.1.a"
mkdir -p "$PREFIX/include/luajit-2.1"
cp luajit/src/{lua.h,lualib.h,lauxlib.h,luaconf.h,lua.hpp,luajit.h} "$PREFIX/include/luajit-2.1/"

# rabbitmq-c with OpenSSL (which stays shared, like libcurl's TLS stack).
cmake -S librabbitmq -B librabbitmq/build -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
      -DENABLE_SSL_SUPPORT=ON -DBUILD_EXAMPLES=OFF -DBUILD_TESTS=OFF -DBUILD_TESTING=OFF \
      -DBUILD_TOOLS=OFF -DBUILD_API_DOCS=OFF -DCMAKE_INSTALL_PREFIX="$PREFIX" \
      -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build librabbitmq/build -j"$JOBS" >/dev/null
cmake --install librabbitmq/build >/dev/null

echo "$stamp" > "$OUT/stamp"
