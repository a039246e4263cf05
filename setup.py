"""Builds graft._graft: the C engine (src/core, no Python) and the ASGI bridge (src/bridge)."""
import glob
import os

from setuptools import Extension, setup

sanitize = os.environ.get("GRAFT_SANITIZE")  # "1": build with ASan+UBSan for make test-asan
cflags = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra", "-fvisibility=hidden",
          "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
ldflags = []
if sanitize:
    cflags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1"]
    ldflags += ["-fsanitize=address,undefined"]

sources = sorted(glob.glob("src/core/*.c")) + sorted(glob.glob("src/bridge/*.c"))

setup(
    ext_modules=[
        Extension(
            "graft._graft",
            sources=sources,
            include_dirs=["include", "src"],
            extra_compile_args=cflags,
            extra_link_args=ldflags,
            libraries=["pthread"],
        )
    ]
)
