"""What the compat apps did, per request key, for the tests to wait on (deterministic: a test
looks at the logs only once the app says it has finished with the request)."""

from __future__ import annotations

import json
import threading

_lock = threading.Lock()
_events: dict[str, list[str]] = {}


def record(key: str | None, event: str) -> None:
    if not key:
        return
    with _lock:
        _events.setdefault(key, []).append(event)


def dump(key: str | None) -> bytes:
    with _lock:
        return json.dumps(_events.get(key or "", [])).encode()

