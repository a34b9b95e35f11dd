"""The one canonical JSON form of inputs and results.

Validation, the size limit, the idempotency fingerprint and storage all use it,
so SQLite and PostgreSQL (jsonb, which refuses NUL and lone surrogates) accept
exactly the same documents.
"""

import hashlib
import json
from typing import Any

from .conf import app_settings
from .errors import InvalidInputs


def canonical_json(value: Any, *, what: str = "inputs") -> str:
    """Serialise ``value`` canonically or raise ``InvalidInputs`` saying why."""
    _check_tree(value, what)
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError:
        raise InvalidInputs(
            f"{what} contain NaN or infinity, which JSON cannot represent",
            details=[{"path": "$", "message": "NaN and infinity are not allowed"}],
        ) from None
    return text


def canonical_bytes(value: Any, *, what: str = "inputs") -> bytes:
    return canonical_json(value, what=what).encode("utf-8")


def fingerprint(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def checked_inputs(inputs: Any, *, what: str = "inputs") -> bytes:
    """Canonical bytes of ``inputs``, which must be a JSON object within the size limit."""
    if not isinstance(inputs, dict):
        raise InvalidInputs(
            f"{what} must be a JSON object",
            details=[{"path": "$", "message": f"expected an object, got {_json_type(inputs)}"}],
        )
    data = canonical_bytes(inputs, what=what)
    limit = app_settings.MAX_INPUT_BYTES
    if len(data) > limit:
        raise InvalidInputs(
            f"{what} are {len(data)} bytes in canonical JSON; the limit is {limit}",
            code="payload_too_large",
            details={"size": len(data), "limit": limit},
        )
    return data


def _check_tree(value: Any, what: str) -> None:
    """Refuse what JSON or jsonb cannot hold: other types, NUL, bad unicode, deep nesting."""
    max_depth = app_settings.MAX_INPUT_DEPTH
    stack: list[tuple[Any, str, int]] = [(value, "$", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _invalid(what, path, f"nesting deeper than {max_depth} levels")
            for key, child in node.items():
                if not isinstance(key, str):
                    raise _invalid(what, path, "object keys must be strings")
                _check_string(key, what, path)
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(node, list | tuple):
            if depth > max_depth:
                raise _invalid(what, path, f"nesting deeper than {max_depth} levels")
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, what, path)
        elif node is None or isinstance(node, bool | int | float):
            continue
        else:
            raise _invalid(what, path, f"{type(node).__name__} is not a JSON type")


def _check_string(text: str, what: str, path: str) -> None:
    if "\x00" in text:
        raise _invalid(what, path, "NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(what, path, "not valid unicode (lone surrogate)") from None


def _invalid(what: str, path: str, message: str) -> InvalidInputs:
    return InvalidInputs(
        f"{what} at {path}: {message}", details=[{"path": path, "message": message}]
    )


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return names.get(type(value), type(value).__name__)
