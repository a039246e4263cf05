"""Flask 3.1 through a2wsgi 1.10 (WSGI in a thread pool), for the compat suite.

/, /hello, /json, /stream?n=N, /slow?key=K (a generator, a chunk every 50 ms for 2 s,
records "end"), POST /reject (413 unread), /events?key=K.
"""

from __future__ import annotations

import time

from a2wsgi import WSGIMiddleware
from flask import Flask, Response, jsonify, request

from compat_events import dump, record

flask_app = Flask(__name__)


@flask_app.get("/")
def root():
    return Response("ok", mimetype="text/plain")


@flask_app.get("/hello")
def hello():
    return Response("Hello, world!", mimetype="text/plain")


@flask_app.get("/json")
def json_():
    return jsonify(framework="flask", items=[1, 2, 3])


@flask_app.get("/stream")
def stream():
    n = int(request.args.get("n", "5"))
    return Response((f"chunk {i}\n" for i in range(n)), mimetype="text/plain")


@flask_app.get("/slow")
def slow():
    key = request.args.get("key")

    def gen():
        try:
            for i in range(40):
                record(key, f"tick {i}")
                yield f"tick {i}\n"
                time.sleep(0.05)
        finally:
            record(key, "end")

    return Response(gen(), mimetype="text/plain")


@flask_app.post("/reject")
def reject():
    return Response("too big", status=413, mimetype="text/plain")


@flask_app.get("/events")
def events():
    return Response(dump(request.args.get("key")), mimetype="application/json")


app = WSGIMiddleware(flask_app)
