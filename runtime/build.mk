# The one description of how the runtime is built. The Makefile includes it and
# bindings/python/luaconn_build.py reads it (NAME = value lines), so the library, the
# CLI, the C tests and the Python extension compile the same sources with the same
# flags and link the same libraries the same way.

# Layers, lowest first: a folder's files include only their own folder's header and
# those of folders before it (checked by scripts/check_layers.py).
LC_LAYERS = base arrow vm host connector
# Libraries vendored as source (runtime/third_party/NAME/NAME.c and NAME.h, with the
# LICENSE): compiled into the runtime with it, their symbols as hidden as its own.
LC_VENDORED = yyjson
LC_PKG_CONFIG = luajit libcurl librabbitmq
LC_LIBS = -lm -lpthread
LC_CFLAGS = -std=gnu11 -fvisibility=hidden -DLC_BUILDING_LIBRARY -Dyyjson_api=

# The self-contained wheel (make wheel): LuaJIT and rabbitmq-c as the PIC
# archives scripts/build-deps.sh builds (under LC_STATIC_PREFIX/lib), libcurl and
# OpenSSL shared (auditwheel vendors them); the bundled libraries' symbols stay inside
# what links them.
LC_STATIC_ARCHIVES = libluajit-5.1.a librabbitmq.a
LC_STATIC_PKG_CONFIG = libcurl openssl
LC_STATIC_LIBS = -lm -lpthread -ldl
LC_STATIC_LDFLAGS = -Wl,--exclude-libs,ALL
