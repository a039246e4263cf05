"""Flask 3.1 under a2wsgi 1.10: a WSGI app whose body is read from a worker thread, which
calls receive() through asyncio.run_coroutine_threadsafe (tests/compat/test_receive_send.py)."""

import hashlib

from a2wsgi import WSGIMiddleware
from flask import Flask, request

flask_app = Flask(__name__)


@flask_app.post("/form")
def form():
    return {"name": request.form.get("name"), "n": request.form.get("n")}


@flask_app.post("/upload")
def upload():
    data = request.get_data()
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}


app = WSGIMiddleware(flask_app)
