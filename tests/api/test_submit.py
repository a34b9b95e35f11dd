"""POST /api/actions/<name>/runs/: new runs, replays, conflicts and every refusal."""

import json

import pytest
from django.test import override_settings

from actions import cancel, pause, queue
from actions.models import IdempotencyRecord, Run, RunStatus
from tests.api.helpers import error_of, post_raw

pytestmark = pytest.mark.django_db

URL = "/api/actions/test-noop/runs/"
SCHEMA_URL = "/api/actions/test-schema/runs/"


def submit(client, inputs, *, key=None, url=URL):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, {"inputs": inputs}, format="json", headers=headers)


def rows() -> tuple[int, int, int]:
    return Run.objects.count(), IdempotencyRecord.objects.count(), queue.size()


def test_a_new_run_answers_202_with_its_location_and_the_run(as_operator):
    response = submit(as_operator, {"a": 1}, key="order-1")
    assert response.status_code == 202
    body = response.json()
    run = Run.objects.get()
    assert response["Location"] == f"/api/runs/{run.pk}/"
    assert "Idempotent-Replayed" not in response
    assert body["id"] == str(run.pk)
    assert body["action"] == "test-noop"
    assert body["status"] == "queued"
    assert body["inputs"] == {"a": 1}
    assert body["idempotency_key"] == "order-1"
    assert body["attempt_count"] == 0
    assert body["action_paused"] is False
    assert body["result"] is None and body["error"] is None and body["resolution"] is None
    assert rows() == (1, 1, 1)


def test_the_location_serves_the_run(as_operator):
    response = submit(as_operator, {"a": 1})
    assert as_operator.get(response["Location"]).json()["id"] == response.json()["id"]


def test_the_same_key_and_inputs_replay_the_original_run_with_200(as_operator):
    first = submit(as_operator, {"a": 1, "b": [1, 2]}, key="order-1")
    again = submit(as_operator, {"b": [1, 2], "a": 1}, key="order-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert rows() == (1, 1, 1)


def test_a_replay_returns_the_original_run_whatever_its_status(as_operator, operator):
    first = submit(as_operator, {"a": 1}, key="order-1").json()
    cancel(first["id"], operator, note="test")
    again = submit(as_operator, {"a": 1}, key="order-1")
    assert again.status_code == 200
    assert again.json()["status"] == RunStatus.CANCELLED
    assert Run.objects.count() == 1


def finish(run_id: str) -> None:
    Run.objects.filter(pk=run_id).update(
        status=RunStatus.SUCCEEDED, result={"card_token": "tok_secret"}, attempts=1
    )


def test_a_replay_hides_the_outcome_from_a_caller_who_may_not_view_runs(as_submitter):
    first = submit(as_submitter, {"a": 1}, key="order-1").json()
    finish(first["id"])
    again = submit(as_submitter, {"a": 1}, key="order-1")
    assert again.status_code == 200
    body = again.json()
    assert (body["id"], body["status"]) == (first["id"], "succeeded")
    assert (body["result"], body["error"], body["resolution"]) == (None, None, None)
    assert "tok_secret" not in again.content.decode()
    assert as_submitter.get(f"/api/runs/{first['id']}/").status_code == 403


def test_a_replay_shows_the_outcome_to_a_caller_who_may_view_runs(client_with):
    caller = client_with("actions.submit_run", "actions.view_run")
    first = submit(caller, {"a": 1}, key="order-1").json()
    finish(first["id"])
    again = submit(caller, {"a": 1}, key="order-1")
    assert again.status_code == 200
    assert again.json()["result"] == {"card_token": "tok_secret"}


def test_the_same_key_with_other_inputs_is_422_naming_the_original_run(as_operator):
    first = submit(as_operator, {"a": 1}, key="order-1").json()
    response = submit(as_operator, {"a": 2}, key="order-1")
    assert response.status_code == 422
    assert error_of(response) == "idempotency_key_reused"
    assert response.json()["details"] == {"run_id": first["id"]}
    assert rows() == (1, 1, 1)


def test_a_quoted_key_is_the_same_key(as_operator):
    first = submit(as_operator, {"a": 1}, key='"order-1"')
    again = submit(as_operator, {"a": 1}, key="order-1")
    assert first.json()["idempotency_key"] == "order-1"
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_without_a_key_every_submission_is_a_new_run(as_operator):
    assert submit(as_operator, {"a": 1}).status_code == 202
    assert submit(as_operator, {"a": 1}).status_code == 202
    assert Run.objects.count() == 2


@override_settings(DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY=True)
def test_a_missing_key_is_refused_when_the_setting_requires_one(as_operator):
    response = submit(as_operator, {"a": 1})
    assert response.status_code == 400
    assert error_of(response) == "invalid_idempotency_key"
    assert submit(as_operator, {"a": 1}, key="k").status_code == 202


@pytest.mark.parametrize(
    "key",
    [
        "",
        '""',
        "k" * 256,
        '"' + "k" * 256 + '"',
        "order-1, order-1",  # a repeated header arrives comma-joined
        "a,b",
        'a"b',
        '"a',
        "a\\b",
        "with space",
        "caf\u00e9",
        "tab\tkey",
    ],
)
def test_an_invalid_key_is_400_and_writes_nothing(as_operator, key):
    response = submit(as_operator, {"a": 1}, key=key)
    assert response.status_code == 400
    assert error_of(response) == "invalid_idempotency_key"
    assert rows() == (0, 0, 0)


def test_a_key_of_255_visible_characters_is_accepted(as_operator):
    key = "!#$%&'()*+-./:;<=>?@[]^_`{|}~" + "k" * (255 - 29)
    response = submit(as_operator, {"a": 1}, key=key)
    assert response.status_code == 202
    assert response.json()["idempotency_key"] == key


def test_an_unknown_action_is_404(as_operator):
    response = submit(as_operator, {"a": 1}, url="/api/actions/no-such-action/runs/")
    assert response.status_code == 404
    assert error_of(response) == "unknown_action"


def test_a_paused_action_accepts_the_run_and_says_it_waits(as_operator, operator):
    pause("test-noop", operator)
    response = submit(as_operator, {"a": 1})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["action_paused"] is True
    assert "paused" in body["waiting_reason"]
    assert Run.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    ["{", '{"inputs": {"a": 1}', "inputs=1", "{'inputs': {}}", '{"inputs": {}} x', "\ufeff{}"],
)
def test_malformed_json_is_400_invalid_json(as_operator, raw):
    response = post_raw(as_operator, URL, raw)
    assert response.status_code == 400
    assert error_of(response) == "invalid_json"


def test_a_body_that_is_not_utf8_is_400_invalid_json(as_operator):
    response = post_raw(as_operator, URL, b'{"inputs": {"a": "\xff\xfe"}}')
    assert response.status_code == 400
    assert error_of(response) == "invalid_json"


@pytest.mark.parametrize(
    "raw",
    [
        "[]",
        '"text"',
        "1",
        "null",
        "{}",
        '{"input": {}}',
        '{"inputs": []}',
        '{"inputs": "a=1"}',
        '{"inputs": null}',
        '{"inputs": 1}',
        '{"inputs": {}, "key": "k"}',
        '{"inputs": {}, "\\ud800": 1}',
    ],
)
def test_a_body_that_is_not_an_inputs_object_is_400_invalid_body(as_operator, raw):
    response = post_raw(as_operator, URL, raw)
    assert response.status_code == 400
    assert error_of(response) == "invalid_body"
    assert rows() == (0, 0, 0)


def test_an_empty_body_is_400_invalid_body(as_operator):
    response = as_operator.post(URL, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response) == "invalid_body"


@pytest.mark.parametrize(
    "raw",
    [
        '{"inputs": {"x": NaN}}',
        '{"inputs": {"x": Infinity}}',
        '{"inputs": {"x": -Infinity}}',
        '{"inputs": {"x": 1e400}}',
        '{"inputs": {"x": "a\\u0000b"}}',
        '{"inputs": {"x\\u0000": 1}}',
        '{"inputs": {"x": "\\ud800"}}',
        '{"inputs": {"x": ' + "[" * 40 + "]" * 40 + "}}",
        '{"inputs": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        '{"inputs": {"x": ' + "9" * 5000 + "}}",
    ],
    ids=["nan", "inf", "-inf", "overflow", "nul", "nul-key", "surrogate", "deep", "deeper", "int"],
)
def test_inputs_json_cannot_store_are_400_invalid_inputs(as_operator, raw):
    response = post_raw(as_operator, URL, raw)
    assert response.status_code == 400
    assert error_of(response) == "invalid_inputs"
    assert response.json()["details"][0]["path"].startswith("$")
    assert rows() == (0, 0, 0)


def test_schema_violations_list_each_failing_path(as_operator):
    response = submit(as_operator, {"age": -1, "extra": True}, url=SCHEMA_URL)
    assert response.status_code == 400
    assert error_of(response) == "invalid_inputs"
    details = response.json()["details"]
    assert {d["path"] for d in details} == {"$", "$.age"}
    assert all(d["message"] for d in details)
    assert len(details) == 3  # email missing, extra not allowed, age below minimum


def test_a_content_length_over_the_limit_is_413_before_the_body_is_read(as_operator, settings):
    limit = settings.DOPLATFORM_MAX_INPUT_BYTES + 64 * 1024
    # The body is tiny: only the declared length can have decided.
    response = post_raw(as_operator, URL, b'{"inputs": {}}', CONTENT_LENGTH=str(limit + 1))
    assert response.status_code == 413
    assert error_of(response) == "payload_too_large"
    assert response.json()["details"] == {"size": limit + 1, "limit": limit}
    assert rows() == (0, 0, 0)


def test_a_body_of_exactly_the_limit_is_accepted(as_operator, settings):
    limit = settings.DOPLATFORM_MAX_INPUT_BYTES + 64 * 1024
    body = b'{"inputs": {}}'.ljust(limit)  # JSON allows trailing whitespace
    response = post_raw(as_operator, URL, body)
    assert response.status_code == 202


@override_settings(DOPLATFORM_MAX_INPUT_BYTES=1000)
def test_canonical_inputs_over_the_limit_are_413(as_operator):
    response = submit(as_operator, {"text": "x" * 1001})
    assert response.status_code == 413
    assert error_of(response) == "payload_too_large"
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415(as_operator, content_type):
    response = as_operator.generic(
        "POST", URL, json.dumps({"inputs": {}}), content_type=content_type
    )
    assert response.status_code == 415
    assert error_of(response) == "unsupported_media_type"


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
def test_json_in_utf8_may_say_so(as_operator, charset):
    response = as_operator.generic(
        "POST", URL, '{"inputs": {}}', content_type=f"application/json; charset={charset}"
    )
    assert response.status_code == 202


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "utf-16", "us-ascii"])
def test_another_charset_is_415_not_decoded_as_utf8(as_operator, charset):
    response = as_operator.generic(
        "POST",
        URL,
        '{"inputs": {"name": "caf\xe9"}}'.encode("latin-1"),
        content_type=f"application/json; charset={charset}",
    )
    assert response.status_code == 415
    assert error_of(response) == "unsupported_media_type"
    assert charset in response.json()["message"]
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        '{"inputs": {"amount": 5}, "inputs": {"amount": 500}}',
        '{"inputs": {"amount": 5, "amount": 500}}',
        '{"inputs": {"order": {"lines": [{"sku": "a", "sku": "b"}]}}}',
    ],
    ids=["envelope", "inputs", "deep"],
)
def test_a_key_twice_in_one_object_is_400_invalid_json(as_operator, raw):
    response = post_raw(as_operator, URL, raw)
    assert response.status_code == 400
    assert error_of(response) == "invalid_json"
    assert "appears twice" in response.json()["message"]
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize("spelling", ["1900", "1900.0", "19e2", "1.9E+3", "190000e-2"])
def test_one_number_in_any_spelling_replays_the_same_run(as_operator, spelling):
    first = submit(as_operator, {"amount_cents": 1900}, key="signup-42")
    again = post_raw(
        as_operator,
        URL,
        f'{{"inputs": {{"amount_cents": {spelling}}}}}',
        HTTP_IDEMPOTENCY_KEY="signup-42",
    )
    assert again.status_code == 200, again.json()
    assert again.json()["id"] == first.json()["id"]
    assert Run.objects.get().inputs == {"amount_cents": 1900}


def test_inputs_are_stored_and_answered_in_their_canonical_form(as_operator):
    response = post_raw(
        as_operator, URL, '{"inputs": {"a": 19e2, "b": 0.50, "c": -0.0, "d": 1e21}}'
    )
    assert response.status_code == 202
    expected = {"a": 1900, "b": 0.5, "c": 0, "d": 1e21}
    assert response.json()["inputs"] == expected
    assert Run.objects.get().inputs == expected
    assert type(Run.objects.get().inputs["a"]) is int


def test_the_schema_sees_the_canonical_number(as_operator):
    response = post_raw(as_operator, SCHEMA_URL, '{"inputs": {"email": "a@b.c", "age": 42.0}}')
    assert response.status_code == 202, response.json()
    assert Run.objects.get().inputs == {"email": "a@b.c", "age": 42}


def test_an_integer_a_double_would_round_is_400_not_rounded(as_operator):
    response = post_raw(as_operator, URL, '{"inputs": {"id": 9007199254740993}}')
    assert response.status_code == 400
    assert error_of(response) == "invalid_inputs"
    assert response.json()["details"][0]["path"] == "$.id"
    assert "send it as a string" in response.json()["details"][0]["message"]
    assert rows() == (0, 0, 0)


def test_the_submit_path_has_a_bounded_query_count(as_operator, django_assert_max_num_queries):
    submit(as_operator, {"warm": 1})  # the engine creates the action's row on first use
    # token, 2 permission reads, the key's lookup, key + run + queue inserts (2 savepoint
    # statements in a test, one transaction in production), the run's action for
    # ``action_paused``.
    with django_assert_max_num_queries(10):
        response = submit(as_operator, {"a": 1}, key="order-1")
    assert response.status_code == 202


def test_the_replay_path_has_a_bounded_query_count(as_operator, django_assert_max_num_queries):
    submit(as_operator, {"a": 1}, key="order-1")
    # token, 2 permission reads, the binding with its run (a replay writes nothing), the
    # run's action.
    with django_assert_max_num_queries(5):
        response = submit(as_operator, {"a": 1}, key="order-1")
    assert response.status_code == 200
