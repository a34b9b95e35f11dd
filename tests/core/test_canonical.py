"""The one canonical JSON form (actions/canonical.py): what is stored, limited and fingerprinted."""

import pytest
from django.test import override_settings

from actions.canonical import canonical_json, checked_inputs, fingerprint
from actions.errors import InvalidInputs


def test_the_canonical_form_sorts_keys_and_drops_whitespace():
    assert canonical_json({"b": [1, 2], "a": "é"}) == '{"a":"é","b":[1,2]}'


def test_equal_documents_have_one_fingerprint_whatever_their_key_order():
    one = fingerprint(checked_inputs({"a": 1, "b": {"c": 2, "d": 3}}))
    other = fingerprint(checked_inputs({"b": {"d": 3, "c": 2}, "a": 1}))
    assert one == other
    assert len(one) == 64  # sha256, hex
    assert fingerprint(checked_inputs({"a": 2})) != one


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ({"x": float("nan")}, "$", "NaN"),
        ({"x": "a\x00b"}, "$.x", "NUL"),
        ({"x\x00": 1}, "$", "NUL"),
        ({"x": "\ud800"}, "$.x", "surrogate"),
        ({"x": b"bytes"}, "$.x", "not a JSON type"),
        ({"x": {1, 2}}, "$.x", "not a JSON type"),
        ({1: "a"}, "$", "keys must be strings"),
        ({"list": [1, {"deep": "\x00"}]}, "$.list[1].deep", "NUL"),
    ],
)
def test_what_json_or_jsonb_cannot_hold_is_refused_with_its_path(value, path, message):
    with pytest.raises(InvalidInputs) as caught:
        canonical_json(value)
    assert caught.value.code == "invalid_inputs"
    assert caught.value.details[0]["path"] == path
    assert message in caught.value.details[0]["message"]


def test_results_are_named_as_results():
    with pytest.raises(InvalidInputs, match="^result at"):
        canonical_json({"x": "\x00"}, what="result")


def test_tuples_are_arrays():
    assert canonical_json({"t": (1, 2)}) == '{"t":[1,2]}'


@pytest.mark.parametrize(
    ("inputs", "kind"), [([1], "array"), ("text", "string"), (1.5, "number"), (None, "null")]
)
def test_inputs_must_be_an_object(inputs, kind):
    with pytest.raises(InvalidInputs) as caught:
        checked_inputs(inputs)
    assert caught.value.message == "inputs must be a JSON object"
    assert caught.value.details == [{"path": "$", "message": f"expected an object, got {kind}"}]


@override_settings(DOPLATFORM_MAX_INPUT_DEPTH=3)
def test_nesting_is_capped():
    checked_inputs({"a": {"b": {}}})
    with pytest.raises(InvalidInputs, match="nesting deeper than 3 levels"):
        checked_inputs({"a": {"b": {"c": {}}}})


@override_settings(DOPLATFORM_MAX_INPUT_BYTES=13)
def test_the_size_limit_counts_canonical_bytes():
    assert checked_inputs({"a": "12345"}) == b'{"a":"12345"}'  # 13 bytes, canonically
    with pytest.raises(InvalidInputs) as caught:
        checked_inputs({"a": "123456"})
    assert caught.value.code == "payload_too_large"
    assert caught.value.details == {"size": 14, "limit": 13}
