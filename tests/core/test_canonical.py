"""The one canonical JSON form (actions/canonical.py): what is stored, limited and fingerprinted."""

import json
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.canonical import canonical_json, canonical_value, checked_inputs, fingerprint, loads
from actions.errors import InvalidInputs, InvalidJSON


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
        ({"x": float("nan")}, "$.x", "NaN"),
        ({"x": [float("inf")]}, "$.x[0]", "infinity"),
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


# --- numbers, as RFC 8785 (JCS) writes them -------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1900", "1900"),
        ("1900.0", "1900"),
        ("19e2", "1900"),
        ("1.9E3", "1900"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.1", "0.1"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("1e16", "10000000000000000"),
        ("1e21", "1e+21"),
        ("1.5e300", "1.5e+300"),
        ("9007199254740991", "9007199254740991"),
        ("100000000000000000000", "100000000000000000000"),
        ("333333333.33333329", "333333333.3333333"),  # RFC 8785's own examples
        ("1E30", "1e+30"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("0.000000000000000000000000001", "1e-27"),
    ],
)
def test_a_number_is_written_as_jcs_writes_its_double(text, canonical):
    assert canonical_json(loads(f'{{"n": {text}}}')) == f'{{"n":{canonical}}}'


def test_one_number_spelled_three_ways_is_one_document():
    spellings = [{"amount_cents": 1900}, {"amount_cents": 1900.0}, loads('{"amount_cents": 19e2}')]
    assert len({fingerprint(checked_inputs(inputs)) for inputs in spellings}) == 1
    assert [canonical_value(inputs) for inputs in spellings] == [{"amount_cents": 1900}] * 3
    assert type(canonical_value(spellings[2])["amount_cents"]) is int


@pytest.mark.parametrize("n", [2**53 + 1, -(2**53) - 1, 2**60, 2**64, 10**21 + 1])
def test_an_integer_that_a_double_would_change_is_refused_not_rounded(n):
    with pytest.raises(InvalidInputs) as caught:
        canonical_json({"id": n})
    assert caught.value.details[0]["path"] == "$.id"
    assert "send it as a string" in caught.value.details[0]["message"]


def test_an_integer_beyond_any_double_is_refused():
    with pytest.raises(InvalidInputs, match="beyond the range of JSON numbers"):
        canonical_json({"id": 10**400})


@pytest.mark.parametrize(
    "n", [2**53 - 1, -(2**53) + 1, 2**53, 10**20, -(10**20), 10**21, 1180591620717411300000]
)
def test_an_integer_written_as_its_double_is_kept_exactly(n):
    # 10**21 is how PostgreSQL's jsonb gives back 1e+21: it must be accepted again.
    text = canonical_json({"id": n})
    assert json.loads(text, parse_int=Decimal, parse_float=Decimal) == {"id": n}
    assert canonical_json(canonical_value({"id": n})) == text


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**53) + 1, 2**53 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.text(max_size=4).filter(lambda k: "\x00" not in k), children, max_size=4
            )
        ),
        max_leaves=20,
    )
)
@settings(max_examples=300, derandomize=True, database=None)
def test_the_canonical_form_of_the_canonical_form_is_itself(value):
    once = canonical_json({"v": value})
    assert canonical_json(json.loads(once)) == once
    assert canonical_json(canonical_value({"v": value})) == once


def test_keys_are_sorted_by_utf16_code_units():
    # RFC 8785, 3.2.3: the astral U+1F600 sorts before U+FB33, unlike by code point.
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    text = canonical_json(dict.fromkeys(keys, 0))
    assert [*json.loads(text)] == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_strings_escape_only_quotes_backslashes_and_control_characters():
    text = canonical_json({"s": 'é\u2028"\\\n\x1f\x7f'})
    assert text == '{"s":"é\u2028\\"\\\\\\n\\u001f\x7f"}'


# --- reading JSON text strictly --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"inputs": {"email": "a@b.c", "email": "x@y.z"}}',
        '{"x": [{"deep": {"k": 1, "k": 1}}]}',
    ],
)
def test_a_key_twice_in_one_object_is_invalid_json_at_any_depth(text):
    with pytest.raises(InvalidJSON) as caught:
        loads(text)
    assert caught.value.code == "invalid_json"
    assert "appears twice" in caught.value.message
    assert set(caught.value.details) == {"duplicate_key"}


def test_the_same_key_in_different_objects_is_fine():
    assert loads('{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}') == {
        "a": {"a": 1},
        "b": [{"a": 2}, {"a": 3}],
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"\xff{}", InvalidJSON),
        ("{", InvalidJSON),
        ('{"a": NaN}', InvalidInputs),
        ('{"a": -Infinity}', InvalidInputs),
        ('{"a": ' + "1" * 5000 + "}", InvalidInputs),
    ],
)
def test_what_is_not_json_or_not_representable_is_refused(text, error):
    with pytest.raises(error):
        loads(text)
