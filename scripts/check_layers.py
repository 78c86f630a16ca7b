#!/usr/bin/env python3
"""Checks that the runtime's folders are layers: every quoted #include in
runtime/src/<layer>/ names a header of its own layer or of a lower one (the order of
LC_LAYERS in runtime/build.mk), so the include graph between folders has no cycle.

Usage: check_layers.py [RUNTIME_SRC_DIR]   (exit 1 and one line per violation)
"""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layers(build_mk):
    for line in build_mk.read_text().splitlines():
        if line.startswith("LC_LAYERS"):
            return line.split("=", 1)[1].split()
    raise SystemExit(f"{build_mk}: no LC_LAYERS line")


def violations(src):
    order = layers(src.parent / "build.mk")
    rank = {name: i for i, name in enumerate(order)}
    found = []
    folders = sorted(p for p in src.iterdir() if p.is_dir())
    for folder in folders:
        if folder.name not in rank:
            found.append(f"{folder}: a folder that is not a layer in LC_LAYERS")
            continue
        for path in sorted(folder.glob("*.[ch]")):
            for target in INCLUDE.findall(path.read_text()):
                if target == "luaconn.h":
                    continue
                layer = target.split("/", 1)[0] if "/" in target else None
                if layer not in rank:
                    found.append(f"{path}: includes \"{target}\", not a layer's header")
                elif rank[layer] > rank[folder.name]:
                    found.append(f"{path}: includes \"{target}\": {layer} is above "
                                 f"{folder.name} ({' < '.join(order)})")
    return found


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "runtime/src")
    problems = violations(src)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"layers ok: {' < '.join(layers(src.parent / 'build.mk'))}")


if __name__ == "__main__":
    main()
