"""The example app `make run` serves: a small FastAPI service, unchanged from what uvicorn would run."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse

app = FastAPI(title="graft example")


@app.get("/")
async def root():
    return {"message": "Hello from graft"}


@app.get("/hello/{name}", response_class=PlainTextResponse)
async def hello(name: str):
    return f"Hello, {name}!"


@app.post("/hello/{name}")
async def hello_post(name: str):
    # with --native hello.so, GET /hello/{name} is answered in C; POST stays here
    return {"from": "python", "name": name}


@app.post("/echo")
async def echo(payload: dict):
    return payload


@app.get("/stream")
async def stream():
    async def lines():
        for i in range(5):
            yield f"line {i}\n"

    return StreamingResponse(lines(), media_type="text/plain")
