"""The one canonical JSON form of inputs and results, and the one strict reading of JSON text.

Validation, the size limit, the idempotency fingerprint and storage all use the
canonical form: RFC 8785 (the JSON Canonicalization Scheme, through the ``rfc8785``
package), so that every document has exactly one spelling. Keys are sorted by their
UTF-16 code units; there is no whitespace; strings are UTF-8 with only ``"``, ``\\``
and control characters escaped; a number is the IEEE-754 double it denotes, written
as ECMAScript writes it (``1900``, ``1900.0`` and ``19e2`` are all ``1900``; ``1e-7``;
``1e+21``). SQLite and PostgreSQL (jsonb, which refuses NUL and lone surrogates)
therefore accept exactly the same documents.

Beyond ±(2^53 - 1) an integer would change in that translation (9007199254740993 is
written 9007199254740992, 2^60 is written 1152921504606847000), so it is refused rather
than silently rounded, unless it already is the number written (1e+21, or 10^20 written
out): canonical text always reads back as the same document, on SQLite and on
PostgreSQL alike, so canonicalising is idempotent.
"""

import hashlib
import json
import math
from decimal import Decimal
from typing import Any

import rfc8785

from .conf import app_settings
from .errors import InvalidInputs, InvalidJSON

# Integers in this range are exact doubles; beyond it, only some are.
SAFE_INTEGER = 2**53 - 1


def canonical_bytes(value: Any, *, what: str = "inputs") -> bytes:
    """Serialise ``value`` canonically (RFC 8785) or raise ``InvalidInputs`` saying why."""
    return rfc8785.dumps(_jcs_tree(value, what))


def canonical_json(value: Any, *, what: str = "inputs") -> str:
    return canonical_bytes(value, what=what).decode("utf-8")


def canonical_value(value: Any, *, what: str = "inputs") -> Any:
    """``value`` as it is stored: its canonical text read back (``19e2`` becomes ``1900``)."""
    return json.loads(canonical_bytes(value, what=what))


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


def loads(text: str | bytes, *, what: str = "the request body") -> Any:
    """Parse JSON text strictly: UTF-8, no ``NaN``/``Infinity``, no key twice in one object.

    A duplicate key is refused because whatever stands in front of us (a proxy, a
    validator) may have kept the first value where Python keeps the last. Malformed
    text is ``InvalidJSON``; what JSON cannot represent is ``InvalidInputs``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidJSON(f"{what} is not valid UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        raise InvalidJSON(
            f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise _invalid("inputs", "$", "nesting too deep") from None
    except InvalidJSON:
        raise
    except ValueError as error:  # e.g. an integer past Python's digit limit
        raise _invalid("inputs", "$", str(error)) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise InvalidJSON(
            f"the key {twice!r} appears twice in one object; each key may appear once",
            details={"duplicate_key": twice},
        )
    return result


def _refuse_constant(name: str):
    raise _invalid("inputs", "$", f"{name} is not allowed: JSON numbers must be finite")


def _jcs_tree(value: Any, what: str) -> Any:
    """``value`` checked for what JSON or jsonb cannot hold, with every integer beyond
    ±(2^53 - 1) that a double holds exactly turned into that double (``rfc8785`` refuses
    such integers; JCS writes the double, digit for digit the same integer).

    Iterative, so a deep document fails on the depth cap, not on Python's recursion limit.
    """
    max_depth = app_settings.MAX_INPUT_DEPTH
    root: list[Any] = [None]
    # (node, path, depth, container to fill, key or index in it)
    stack: list[tuple[Any, str, int, Any, Any]] = [(value, "$", 1, root, 0)]
    while stack:
        node, path, depth, parent, slot = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _invalid(what, path, f"nesting deeper than {max_depth} levels")
            copy: dict[str, Any] = {}
            for key, child in node.items():
                if not isinstance(key, str):
                    raise _invalid(what, path, "object keys must be strings")
                _check_string(key, what, path)
                copy[key] = None
                stack.append((child, f"{path}.{key}", depth + 1, copy, key))
            parent[slot] = copy
        elif isinstance(node, list | tuple):
            if depth > max_depth:
                raise _invalid(what, path, f"nesting deeper than {max_depth} levels")
            items: list[Any] = [None] * len(node)
            stack.extend(
                (child, f"{path}[{i}]", depth + 1, items, i) for i, child in enumerate(node)
            )
            parent[slot] = items
        elif isinstance(node, str):
            _check_string(node, what, path)
            parent[slot] = node
        elif node is None or isinstance(node, bool):
            parent[slot] = node
        elif isinstance(node, int):
            parent[slot] = _number(node, what, path)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise _invalid(what, path, "NaN and infinity are not allowed")
            parent[slot] = node
        else:
            raise _invalid(what, path, f"{type(node).__name__} is not a JSON type")
    return root[0]


def _number(n: int, what: str, path: str) -> int | float:
    """An integer within ±(2^53 - 1) as it is; beyond, only if it is exactly the number
    canonical JSON writes for its double (``100000000000000000000``, ``1e+21``), so that
    nothing is ever rounded."""
    if -SAFE_INTEGER <= n <= SAFE_INTEGER:
        return int(n)
    try:
        as_double = float(n)
    except OverflowError:
        raise _invalid(what, path, "the integer is beyond the range of JSON numbers") from None
    written = rfc8785.dumps(as_double).decode()
    # Numerically, not textually: PostgreSQL's jsonb gives 1e+21 back as 1000000000000000000000.
    if Decimal(written) == n:
        return as_double
    raise _invalid(
        what,
        path,
        f"the integer {n} is beyond ±(2^53 - 1), where a JSON number (an IEEE-754 double) "
        f"would be {written}: send it as a string",
    )


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or searched (PostgreSQL refuses both), or None.

    The one check for strings anywhere: inputs, results, notes, filters, form fields.
    """
    if "\x00" in text:
        return "NUL characters are not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid unicode (lone surrogate)"
    return None


def _check_string(text: str, what: str, path: str) -> None:
    if (problem := text_problem(text)) is not None:
        raise _invalid(what, path, problem)


def _invalid(what: str, path: str, message: str) -> InvalidInputs:
    return InvalidInputs(
        f"{what} at {path}: {message}", details=[{"path": path, "message": message}]
    )


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return names.get(type(value), type(value).__name__)
