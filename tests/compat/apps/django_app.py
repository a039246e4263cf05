"""Django 5.2 (ASGIHandler, async views, StreamingHttpResponse) for the compat suite.

Same routes as starlette_app: /, /hello, /json, POST /echo, /stream?n=N,
/slow?key=K (a chunk every 50 ms for 5 s, records "end"), POST /reject (413 unread),
/events?key=K.
"""

from __future__ import annotations

import asyncio

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="compat-suite-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={},
    LOGGING_CONFIG=None,
    USE_TZ=True,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from compat_events import dump, record  # noqa: E402


async def root(request):
    return HttpResponse("ok", content_type="text/plain")


async def hello(request):
    return HttpResponse("Hello, world!", content_type="text/plain")


async def json_(request):
    return JsonResponse({"framework": "django", "items": [1, 2, 3]})


@csrf_exempt
async def echo(request):
    return HttpResponse(request.body, content_type=request.content_type or "application/octet-stream")


async def stream(request):
    n = int(request.GET.get("n", "5"))

    async def gen():
        for i in range(n):
            yield f"chunk {i}\n"

    return StreamingHttpResponse(gen(), content_type="text/plain")


async def slow(request):
    key = request.GET.get("key")

    async def gen():
        try:
            for i in range(100):
                yield f"tick {i}\n"
                await asyncio.sleep(0.05)
        finally:
            record(key, "end")

    return StreamingHttpResponse(gen(), content_type="text/plain")


@csrf_exempt
async def reject(request):
    return HttpResponse("too big", status=413, content_type="text/plain")


async def events(request):
    return HttpResponse(dump(request.GET.get("key")), content_type="application/json")


urlpatterns = [
    path("", root),
    path("hello", hello),
    path("json", json_),
    path("echo", echo),
    path("stream", stream),
    path("slow", slow),
    path("reject", reject),
    path("events", events),
]

app = get_asgi_application()
