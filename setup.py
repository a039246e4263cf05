"""Builds graft._graft — the C engine (src/core, no Python) plus the ASGI bridge (src/bridge) —
and graft-serve, the pure C server (src/serve + src/core, no libpython), into the package."""
import glob
import os
import shutil

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# GRAFT_SANITIZE: "1" (or "address") = ASan+UBSan build for `make test-asan`; "thread" = TSan
# build for `make test-tsan`. The two cannot be combined in one binary.
sanitize = os.environ.get("GRAFT_SANITIZE", "")
cflags = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra", "-Wmissing-prototypes",
          "-fvisibility=hidden", "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
ldflags = []
# GRAFT_WERROR=1: warnings fail the build (make test, the sanitizer builds, CI). Not the default,
# so a user's `pip install` with another compiler or Python does not fail on a new warning.
if os.environ.get("GRAFT_WERROR") == "1":
    cflags.append("-Werror")
if sanitize in ("1", "address"):
    cflags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1"]
    ldflags += ["-fsanitize=address,undefined"]
elif sanitize == "thread":
    cflags += ["-fsanitize=thread", "-fno-omit-frame-pointer", "-O1"]
    ldflags += ["-fsanitize=thread"]
elif sanitize:
    raise SystemExit(f"GRAFT_SANITIZE={sanitize!r}: expected 1, address or thread")

core = sorted(glob.glob("src/core/*.c"))
# src/native/kit: the porting kit (typed inputs, FastAPI-exact 422s), part of the native layer
native = sorted(glob.glob("src/native/*.c")) + sorted(glob.glob("src/native/kit/*.c"))
bridge = sorted(glob.glob("src/bridge/*.c"))


class BuildWithServe(build_ext):
    """build_ext that also links the graft-serve executable and ships graft.h."""

    def run(self):
        super().run()
        pkg = os.path.join("graft") if self.inplace else os.path.join(self.build_lib, "graft")
        os.makedirs(os.path.join(pkg, "include"), exist_ok=True)
        shutil.copyfile("include/graft.h", os.path.join(pkg, "include", "graft.h"))
        objs = self.compiler.compile(
            core + native + sorted(glob.glob("src/serve/*.c")), output_dir=os.path.join(self.build_temp, "serve"),
            include_dirs=["include", "src/core/api"],
            extra_postargs=[f for f in cflags if f != "-fvisibility=hidden"] + ["-fvisibility=hidden"])
        self.compiler.link_executable(
            objs, "graft-serve", output_dir=pkg, libraries=["dl", "pthread", "ssl", "crypto", "z", "m", "jansson"],
            extra_postargs=["-rdynamic"] + ldflags)


setup(
    cmdclass={"build_ext": BuildWithServe},
    ext_modules=[
        Extension(
            "graft._graft",
            sources=core + native + bridge,
            include_dirs=["include", "src/core/api"],
            extra_compile_args=cflags,
            extra_link_args=ldflags,
            libraries=["pthread", "dl", "ssl", "crypto", "z", "m", "jansson"],
        )
    ],
)
