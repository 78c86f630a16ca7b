# The one description of how the runtime is built. The Makefile includes it and
# bindings/python/luaconn_build.py reads it (NAME = value lines), so the library, the
# CLI, the C tests and the Python extension compile the same sources with the same
# flags and link the same libraries the same way.

# Layers, lowest first: a folder's files include only their own folder's header and
# those of folders before it (checked by scripts/check_layers.py).
LC_LAYERS = base arrow vm host connector
LC_PKG_CONFIG = luajit libcurl librabbitmq yajl
LC_LIBS = -llua5.1-cjson -lm -lpthread
LC_CFLAGS = -std=gnu11 -fvisibility=hidden -DLC_BUILDING_LIBRARY
