import pytest

from actions import (
    IdempotencyConflict,
    InvalidIdempotencyKey,
    InvalidInputs,
    UnknownAction,
    queue,
    submit,
)
from actions.models import IdempotencyRecord, Run, RunStatus

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, int, int]:
    return Run.objects.count(), IdempotencyRecord.objects.count(), queue.size()


def test_it_creates_a_queued_run_and_enqueues_it():
    run = submit("test-noop", {"a": 1})
    assert run.status == RunStatus.QUEUED
    assert run.replayed is False
    assert Run.objects.get(pk=run.pk).inputs == {"a": 1}
    assert queue.size() == 1


def test_same_key_same_inputs_replays_the_original_run():
    first = submit("test-noop", {"a": 1, "b": [1, 2]}, idempotency_key="order-1")
    again = submit("test-noop", {"b": [1, 2], "a": 1}, idempotency_key="order-1")
    assert again.pk == first.pk
    assert again.replayed is True
    assert rows() == (1, 1, 1)


def test_same_key_other_inputs_is_a_conflict_naming_the_original_and_writes_nothing():
    first = submit("test-noop", {"a": 1}, idempotency_key="order-1")
    with pytest.raises(IdempotencyConflict) as caught:
        submit("test-noop", {"a": 2}, idempotency_key="order-1")
    assert caught.value.run_id == first.pk
    assert caught.value.details == {"run_id": str(first.pk)}
    assert rows() == (1, 1, 1)


def test_a_key_is_scoped_to_its_action():
    one = submit("test-noop", {"a": 1}, idempotency_key="signup-7")
    other = submit("test-counted", {"a": 1}, idempotency_key="signup-7")
    assert one.pk != other.pk
    assert not other.replayed


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ([1, 2], "invalid_inputs"),
        ("text", "invalid_inputs"),
        ({"x": float("nan")}, "invalid_inputs"),
        ({"x": float("inf")}, "invalid_inputs"),
        ({"x": "a\x00b"}, "invalid_inputs"),
        ({"x\x00": 1}, "invalid_inputs"),
        ({"x": "\ud800"}, "invalid_inputs"),
        ({"x": b"bytes"}, "invalid_inputs"),
        ({"x": "y" * (256 * 1024)}, "payload_too_large"),
    ],
)
def test_bad_inputs_raise_their_specific_error_and_write_nothing(inputs, code):
    with pytest.raises(InvalidInputs) as caught:
        submit("test-noop", inputs, idempotency_key="k")
    assert caught.value.code == code
    assert rows() == (0, 0, 0)


def test_nesting_past_the_cap_is_refused():
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["d"] = {}
        node = node["d"]
    with pytest.raises(InvalidInputs) as caught:
        submit("test-noop", deep)
    assert "nesting deeper" in caught.value.message
    assert rows() == (0, 0, 0)


def test_schema_violations_list_each_failing_path():
    with pytest.raises(InvalidInputs) as caught:
        submit("test-schema", {"age": -1, "extra": True})
    paths = {d["path"] for d in caught.value.details}
    assert {"$", "$.age"} <= paths
    assert rows() == (0, 0, 0)


def test_unknown_action_is_refused():
    with pytest.raises(UnknownAction):
        submit("no-such-action", {})
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "a,b", 'a"b', "a\\b", "a b", "caf\u00e9", "tab\there", "\x7f"]
)
def test_bad_idempotency_keys_are_refused_and_write_nothing(key):
    with pytest.raises(InvalidIdempotencyKey):
        submit("test-noop", {}, idempotency_key=key)
    assert rows() == (0, 0, 0)


def test_the_longest_and_oddest_valid_keys_are_kept_verbatim():
    for key in ["x" * 255, "!#$%&'()*+-./:;<=>?@[]^_`{|}~", "A"]:
        run = submit("test-noop", {}, idempotency_key=key)
        assert Run.objects.get(pk=run.pk).idempotency_key == key


def test_submit_uses_a_bounded_number_of_queries(django_assert_max_num_queries):
    submit("test-noop", {}, idempotency_key="warm")
    # the key lookup, the action, then key + run + queue rows (and 2 savepoint statements)
    with django_assert_max_num_queries(7):
        submit("test-noop", {"n": 1}, idempotency_key="k-1")
    with django_assert_max_num_queries(1):  # a replay is one read
        submit("test-noop", {"n": 1}, idempotency_key="k-1")
