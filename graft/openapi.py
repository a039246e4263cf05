"""`graft openapi MODULE:APP [--app-dir DIR]`: the app's OpenAPI document, for graft-serve.

Prints the document the app itself serves (``app.openapi()``, FastAPI's), plus an ``x-graft``
extension naming the FastAPI and Pydantic versions it came from: the route contracts of
native routes (docs/KIT.md) reproduce those versions' validation, so graft-serve
(``--openapi FILE``) can check the document was made with the versions the kit follows.
Under graft the same document is read at start-up (``contracts_text``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import types
import typing
from typing import Any

from graft.config import ImportFromStringError, import_from_string


def find_openapi(app: Any) -> Any:
    """The app's ``openapi`` method, looking through middleware (each wraps the next as
    ``.app``); None for an app without one (plain Starlette, any other ASGI app)."""
    seen = 0
    while app is not None and seen < 32:
        fn = getattr(app, "openapi", None)
        if callable(fn):
            return fn
        app = getattr(app, "app", None)
        seen += 1
    return None


def versions() -> dict[str, str]:
    """The installed FastAPI and Pydantic versions (those missing are left out)."""
    out = {}
    try:
        import fastapi

        out["fastapi"] = fastapi.__version__
    except ImportError:
        pass
    try:
        import pydantic

        out["pydantic"] = pydantic.VERSION
    except ImportError:
        pass
    return out


# What the document cannot say, named per operation as "x-graft-unsupported" (the native
# layer then treats the operation as unsupported): FastAPI validates the parameters of
# dependencies (Depends) before the endpoint's own, and the document lists them after.
DEPENDENCY_PARAMS = ("parameters of dependencies (Depends): FastAPI validates them before the "
                     "endpoint's own, in an order the document does not show")


def _has_dependency_params(dependant: Any) -> bool:
    for sub in getattr(dependant, "dependencies", None) or []:
        if any(getattr(sub, k, None) for k in ("path_params", "query_params", "header_params",
                                               "cookie_params", "body_params")):
            return True
        if _has_dependency_params(sub):
            return True
    return False


# Constraint metadata the document shows (as minimum, maxLength, pattern, ...); any other
# (AfterValidator, Strict, ...) changes validation invisibly.
_SHOWN = {"Gt", "Ge", "Lt", "Le", "MultipleOf", "MinLen", "MaxLen"}


def _unshown(metadata: Any) -> str | None:
    """The first constraint in metadata that the document cannot show, by type name."""
    for m in metadata or []:
        t = type(m).__name__
        if t in _SHOWN or (t == "_PydanticGeneralMetadata" and set(vars(m)) <= {"pattern"}):
            continue
        if t == "AllowInfNan" and getattr(m, "allow_inf_nan", None) is True:  # the default
            continue
        return t
    return None


# allow_inf_nan=False on a body model's float field: the document cannot show it, so graft
# writes it as "x-graft-allow-inf-nan": false on the field's schema, which the kit reads (a
# non-finite value is Pydantic's finite_number); a team's plain openapi.json lacks it.
FINITE_EXT = "x-graft-allow-inf-nan"


def _finite_only(info: Any) -> bool:
    """A float field (or Optional float) whose only hidden rule is allow_inf_nan=False."""
    meta = [m for m in getattr(info, "metadata", None) or [] if type(m).__name__ == "AllowInfNan"]
    ann = info.annotation
    floats = ann is float or (typing.get_origin(ann) in (typing.Union, types.UnionType)
                              and set(typing.get_args(ann)) == {float, type(None)})
    return floats and len(meta) == 1 and meta[0].allow_inf_nan is False and \
        _unshown([m for m in info.metadata if m is not meta[0]]) is None


def _unshown_in_type(tp: Any, depth: int = 0) -> str | None:
    """As _unshown, inside the type: Optional[Annotated[int, AfterValidator(f)]], List[...]."""
    if depth > 8:
        return None
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return _unshown(args[1:]) or _unshown_in_type(args[0], depth + 1)
    for a in args:
        t = _unshown_in_type(a, depth + 1)
        if t:
            return t
    return None


# A model's settings that change validation without showing in the document.
_MODEL_CONFIG_UNSHOWN = ("strict", "str_strip_whitespace", "str_to_lower", "str_to_upper",
                         "str_min_length", "str_max_length", "coerce_numbers_to_str",
                         "validate_default", "populate_by_name", "validate_by_name",
                         "alias_generator", "from_attributes", "revalidate_instances")


def _models_in(tp: Any, depth: int = 0):
    """The Pydantic model classes inside a type (Optional[M], List[M], Annotated[M, ...])."""
    if depth > 8:
        return
    if isinstance(tp, type) and hasattr(tp, "__pydantic_decorators__") and hasattr(tp, "model_fields"):
        yield tp
        return
    for a in typing.get_args(tp):
        yield from _models_in(a, depth + 1)


def _model_rule(model: Any, seen: set, depth: int = 0, finite: list | None = None) -> str | None:
    """Why a body model validates otherwise than its JSON schema says, or None: validators,
    settings and aliases the schema cannot show, in the model or a model inside it. Float
    fields with allow_inf_nan=False are appended to finite as (model, field alias) instead."""
    if model in seen or depth > 16:
        return None
    seen.add(model)
    name = getattr(model, "__name__", "?")
    dec = model.__pydantic_decorators__
    for kind in ("validators", "field_validators", "root_validators", "model_validators"):
        if getattr(dec, kind, None):
            return f"model {name}: {kind.replace('_', ' ')} (rules the document does not show)"
    cfg = getattr(model, "model_config", {}) or {}
    for k in _MODEL_CONFIG_UNSHOWN:
        if cfg.get(k):
            return f"model {name}: model_config {k} (a rule the document does not show)"
    for fname, info in model.model_fields.items():
        if getattr(info, "validation_alias", None) is not None:
            return f"model {name}: field {fname}: validation_alias (not in the document)"
        if finite is not None and _finite_only(info):
            finite.append((model, info.alias or fname))
            continue
        t = _unshown(getattr(info, "metadata", None)) or _unshown_in_type(info.annotation)
        if t:
            return f"model {name}: field {fname}: {t} (a rule the document does not show)"
        for sub in _models_in(info.annotation):
            why = _model_rule(sub, seen, depth + 1, finite)
            if why:
                return why
    return None


def _mark_finite(doc: dict, finite: list) -> str | None:
    """Writes FINITE_EXT on the schema of each (model, field) of finite; the reason it cannot
    (the model's schema not found under its name) or None."""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    for model, field in finite:
        name = model.__name__
        prop = None
        for key in (name, name + "-Input"):  # FastAPI's names: split input/output schemas
            cand = ((schemas.get(key) or {}).get("properties") or {}).get(field)
            if isinstance(cand, dict) and (schemas[key].get("title") == name):
                prop = cand
                break
        if prop is None:
            return f"model {name}: field {field}: AllowInfNan (its schema not found in the document)"
        prop[FINITE_EXT] = False
    return None


def _hidden_rule(dependant: Any, doc: dict) -> str | None:
    """Why the endpoint's own parameters validate otherwise than the document says, or None."""
    for field in getattr(dependant, "body_params", None) or []:
        info = getattr(field, "field_info", None)
        seen: set = set()
        for model in _models_in(getattr(info, "annotation", None)):
            finite: list = []
            why = _model_rule(model, seen, finite=finite) or _mark_finite(doc, finite)
            if why:
                return f"request body: {why}"
    for kind in ("path_params", "query_params", "header_params", "cookie_params"):
        for field in getattr(dependant, kind, None) or []:
            info = getattr(field, "field_info", None)
            name = getattr(field, "alias", None) or getattr(field, "name", "?")
            if getattr(info, "include_in_schema", True) is False:
                return f"parameter {name}: include_in_schema=False (validated, but not in the document)"
            t = _unshown(getattr(info, "metadata", None)) or _unshown_in_type(getattr(info, "annotation", None))
            if t:
                return f"parameter {name}: {t} (a rule the document does not show)"
    return None


def _mark_unsupported(app: Any, doc: dict) -> None:
    """Adds x-graft-unsupported to the operations of routes whose dependencies take
    parameters, or whose parameters carry a rule the document does not show (a validator,
    Strict, include_in_schema=False): routes of the app itself and of included routers (a
    mounted sub-app has a document of its own)."""
    seen = 0
    while app is not None and seen < 32 and not isinstance(getattr(app, "routes", None), list):
        app = getattr(app, "app", None)
        seen += 1
    paths = doc.get("paths") or {}
    for route in getattr(app, "routes", None) or []:
        dependant = getattr(route, "dependant", None)
        path = getattr(route, "path_format", None)
        if dependant is None or path not in paths:
            continue
        why = DEPENDENCY_PARAMS if _has_dependency_params(dependant) else _hidden_rule(dependant, doc)
        for method in (getattr(route, "methods", None) or ()) if why else ():
            op = paths[path].get(method.lower())
            if isinstance(op, dict):
                op["x-graft-unsupported"] = why


def document(app: Any) -> dict | None:
    """The app's OpenAPI document with the ``x-graft`` extensions, or None without one."""
    fn = find_openapi(app)
    if fn is None:
        return None
    doc = json.loads(json.dumps(fn()))  # a copy: the app caches its document
    _mark_unsupported(app, doc)
    doc["x-graft"] = versions()
    return doc


def contracts_text(app: Any) -> str | None:
    """The document as JSON text for Server.set_contracts, or None (no openapi())."""
    doc = document(app)
    return None if doc is None else json.dumps(doc, ensure_ascii=False)


def load(app_str: str, app_dir: str, who: str) -> tuple[Any, dict | None]:
    """Import MODULE:APP (MODULE looked for in app_dir first) and build its document; on a
    failure, say why on stderr (prefixed with who) and return a None document."""
    sys.path.insert(0, os.path.abspath(app_dir))
    try:
        app = import_from_string(app_str)
    except ImportFromStringError as exc:
        print(f"Error loading ASGI app. {exc}", file=sys.stderr)
        return None, None
    doc = document(app)
    if doc is None:
        print(f"{who}: {app_str} has no openapi() (not a FastAPI app)", file=sys.stderr)
    return app, doc


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="graft openapi", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="the app, as MODULE:ATTRIBUTE")
    parser.add_argument("--app-dir", default=".", help="look for MODULE here first [default: .]")
    args = parser.parse_args(argv)
    app, doc = load(args.app, args.app_dir, "Error")
    if doc is None:
        return 1
    try:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `graft openapi APP | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
