"""`python -m luaconn` and the `luaconn` console script: the C CLI shipped in the wheel."""
import os
import sys
from pathlib import Path

CLI = Path(__file__).resolve().parent / "bin" / "luaconn"


def main() -> None:
    if not CLI.is_file():
        sys.exit("luaconn: this installation has no CLI (luaconn/bin/luaconn); it ships in "
                 "the wheel that `make wheel` builds")
    os.execv(CLI, [str(CLI)] + sys.argv[1:])


if __name__ == "__main__":
    main()
