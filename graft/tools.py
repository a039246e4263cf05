"""`graft-serve` and `graft-config`: thin entry points for the C tools shipped in the package."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def serve_main() -> None:
    """Replace this process with the pure C server, so no libpython stays mapped."""
    binary = os.path.join(_HERE, "graft-serve")
    if not os.access(binary, os.X_OK):
        sys.exit(f"graft-serve: the C server was not built ({binary} is missing)")
    os.execv(binary, [binary, *sys.argv[1:]])


def config_main(argv: list[str] | None = None) -> int:
    """Print the compiler flags for building a handler library, like pkg-config."""
    args = sys.argv[1:] if argv is None else argv
    include = os.path.join(_HERE, "include")
    known = {
        "--cflags": f"-I{include}",
        # Handler libraries take graft_* from the host process (graft or graft-serve).
        "--libs": "",
        "--includedir": include,
        "--abi": "1",
    }
    if not args or any(a not in known for a in args):
        print("usage: graft-config [--cflags] [--libs] [--includedir] [--abi]", file=sys.stderr)
        return 2
    print(" ".join(known[a] for a in args if known[a]).strip())
    return 0
