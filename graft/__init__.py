"""graft: a C HTTP server for Python ASGI apps, a drop-in replacement for uvicorn.

``Server`` is imported lazily so that option parsing, ``--version`` and ``Config`` work even
where the C extension is not built.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from graft.config import Config  # noqa: E402
from graft.main import main, run  # noqa: E402

__all__ = ["__version__", "Config", "Server", "main", "run"]


def __getattr__(name: str) -> Any:
    if name == "Server":
        from graft.server import Server

        return Server
    raise AttributeError(f"module 'graft' has no attribute {name!r}")
