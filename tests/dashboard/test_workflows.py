"""Workflows in the dashboard: a workflow's steps, a step's workflow, repairs, lists."""

import re

import pytest

from actions import submit
from actions.models import OperatorEvent, Run, RunStatus
from actions.worker import execute_run
from tests.dashboard.conftest import htmx, signed_in
from tests.factories import drive, make_dead_workflow, make_run, make_user

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces folded: what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def status_of(run: Run) -> str:
    return Run.objects.get(pk=run.pk).status


def step_cards(html: str) -> list[list[str]]:
    """The step cards' run ids, group by group, as the page lays them out."""
    groups = re.findall(r'<li class="step-group[^"]*">(.*?)</li>', html, re.S)
    return [re.findall(r'id="step-([0-9a-f-]+)"', group) for group in groups]


@pytest.fixture
def retrier(db):
    """May look and retry, not resolve."""
    return signed_in(make_user("rita-retrier", "actions.view_run", "actions.retry_run"))


@pytest.fixture
def resolver(db):
    """May look and resolve, not retry."""
    return signed_in(make_user("rolf-resolver", "actions.view_run", "actions.resolve_run"))


# --- a workflow's page ---------------------------------------------------------------


def test_a_workflows_page_lists_its_steps_in_order_with_what_each_did(operator_client):
    run, (first, middle) = make_dead_workflow()
    response = operator_client.get(f"/runs/{run.pk}/")
    html = response.content.decode()
    assert step_cards(html) == [[str(first.pk)], [str(middle.pk)]]
    cards = text_of(html)
    assert "Step 1 test-counted succeeded 1 attempt ·" in cards
    assert "Step 2 test-refuse-first dead 1 attempt ·" in cards
    assert f'<a href="/runs/{middle.pk}/" class="mono">{str(middle.pk)[:8]}</a>' in html
    assert f'href="/runs/?parent={run.pk}"' in html


def test_parallel_steps_stand_side_by_side(operator_client):
    run = submit("test-wf-parallel", {"n": 3})
    execute_run(str(run.pk))
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    [batch] = step_cards(html)
    assert batch == [str(step.pk) for step in Run.objects.steps_of(run.pk)]
    assert '<li class="step-group parallel">' in html
    assert "3 in parallel" in html


def test_a_waiting_workflow_says_what_it_waits_for(operator_client):
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert (
        '<p class="waiting-box" data-testid="waiting-reason">Waiting for step 2 (test-flaky)</p>'
        in html
    )
    assert '<span class="badge waiting" data-testid="run-status">waiting</span>' in html


def test_a_sleeping_workflow_says_until_when(operator_client):
    run = submit("test-wf-sleep", {"seconds": 60})
    execute_run(str(run.pk))
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert re.search(r'data-testid="waiting-reason">Sleeping until \S+ \S+ UTC \(nap\)</p>', html)


def test_a_suspended_attempt_reads_as_waiting_not_as_a_failure(operator_client):
    run = submit("test-wf-sequence", {"fail_times": 1})
    drive()
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    suspended = re.search(r'<li class="attempt outcome-suspended">(.*?)</li>', html, re.S)
    assert suspended is not None
    assert "Attempt 1</strong> suspended: waiting for step 2 (test-flaky)" in suspended.group(1)
    assert "failed" not in suspended.group(1)
    assert "Attempt 2</strong> succeeded" in html


def test_a_workflow_dead_of_a_step_links_the_step_and_offers_to_retry_it(operator_client):
    run, (_, middle) = make_dead_workflow()
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert f'<a href="/runs/{middle.pk}/" data-testid="failed-step">step 2, run' in html
    assert ">Retry dead step</button>" in html
    assert ">Retry now</button>" not in html
    # Its inputs are edited through that step: the page sends the operator there.
    assert f'<a class="btn" href="/runs/{middle.pk}/">Edit the dead step' in html
    assert 'name="inputs"' not in html
    assert "dead-lettered: its step 2 is dead; a retry retries that step" in html


def test_the_live_section_carries_the_steps_and_polls_while_the_workflow_waits(operator_client):
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    response = operator_client.get(f"/runs/{run.pk}/", **htmx("run-live"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="run-refresh from:body"' in html
    assert len(sum(step_cards(html), [])) == 2
    drive()
    done = operator_client.get(f"/runs/{run.pk}/", **htmx("run-live"))
    assert done.status_code == 286  # finished: htmx stops polling
    assert text_of(done.content.decode()).count("succeeded 1 attempt") == 2  # steps 1 and 3


def test_the_workflow_page_reads_its_steps_in_one_query(
    operator_client, django_assert_max_num_queries
):
    short = submit("test-wf-long", {"n": 2})
    long = submit("test-wf-long", {"n": 40})
    drive()
    # session, user, 2 permissions, run, attempts, events, steps, parent
    for run, n in ((short, 2), (long, 40)):
        with django_assert_max_num_queries(9):
            html = operator_client.get(f"/runs/{run.pk}/").content.decode()
        assert len(sum(step_cards(html), [])) == n


# --- a step's page -------------------------------------------------------------------


def test_a_steps_page_links_back_to_its_workflow(operator_client):
    run, (_, middle) = make_dead_workflow()
    html = operator_client.get(f"/runs/{middle.pk}/").content.decode()
    assert "Step 2 of workflow test-wf-repair" in text_of(html)
    assert f'of workflow <a href="/runs/{run.pk}/">test-wf-repair' in html
    assert f'<a href="/runs/?parent={run.pk}">all its steps</a>' in html


def test_a_step_with_an_explicit_key_shows_it(operator_client):
    run = submit("test-wf-loop", {"items": [5]})
    drive()
    [step] = Run.objects.steps_of(run.pk)
    assert (
        "Step 1 (<code>item-5</code>)" in operator_client.get(f"/runs/{step.pk}/").content.decode()
    )
    assert "Step 1 <code>item-5</code>" in operator_client.get(f"/runs/{run.pk}/").content.decode()


# --- retry ---------------------------------------------------------------------------


def test_retrying_a_dead_workflow_from_its_page_retries_the_dead_step(operator_client):
    run, (_, middle) = make_dead_workflow()
    response = operator_client.post(f"/runs/{run.pk}/retry/", **htmx("run-live"))
    assert response.status_code == 200
    assert response.template_name == "actions/run_detail.html#run-live-answer"
    html = response.content.decode()
    assert "Retried step 2 of workflow run" in html
    assert '<span class="badge waiting" data-testid="run-status">waiting</span>' in html
    assert "went to step 2" in html  # the event names where the retry went
    assert status_of(middle) == RunStatus.QUEUED
    drive()
    assert status_of(run) == RunStatus.SUCCEEDED


def test_retry_with_edited_inputs_shows_them_before_and_after(operator_client, operator):
    run, (_, middle) = make_dead_workflow()
    form = operator_client.get(f"/runs/{middle.pk}/").content.decode()
    assert '<summary class="btn">Retry with edited inputs…</summary>' in form
    assert "{\n  &quot;fail_first&quot;: 1\n}</textarea>" in form  # prefilled
    response = operator_client.post(
        f"/runs/{middle.pk}/retry/",
        {"inputs": '{"fail_first": 0}', "note": "let it through"},
        **htmx("run-live"),
    )
    assert response.status_code == 200
    assert "Retried run" in response.content.decode()
    assert "with the edited inputs" in response.content.decode()
    event = OperatorEvent.objects.get(run=middle)
    assert (event.user, event.details) == (
        operator,
        {"inputs": {"before": {"fail_first": 1}, "after": {"fail_first": 0}}},
    )
    drive()
    assert status_of(run) == RunStatus.SUCCEEDED
    diff = re.search(
        r'data-testid="edited-inputs">(.*?)</div>\s*</div>',
        operator_client.get(f"/runs/{middle.pk}/").content.decode(),
        re.S,
    )
    assert diff is not None
    assert re.findall(r"&quot;fail_first&quot;: (\d)", diff.group(1)) == ["1", "0"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ("{not json", "the edited inputs: not valid JSON: Expecting property name"),
        ("[1, 2]", "the edited inputs: must be a JSON object {…}, not an array"),
        ('"text"', "the edited inputs: must be a JSON object {…}, not a string"),
        ('{"email": "a@example.com", "age": -1}', "the edited inputs refused: $.age: -1 is"),
        ('{"age": 3}', "the edited inputs refused: $: &#x27;email&#x27; is a required"),
        (
            '{"email": "a@example.com", "x": NaN}',
            "the edited inputs refused: $.x: NaN and infinity are not allowed",
        ),
    ],
)
def test_edited_inputs_that_are_not_valid_are_400_and_nothing_is_written(
    operator_client, inputs, message
):
    run = make_run("test-schema", status=RunStatus.DEAD, inputs={"email": "a@example.com"})
    response = operator_client.post(f"/runs/{run.pk}/retry/", {"inputs": inputs}, **htmx())
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#messages"
    assert f"Nothing done: {message}" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.inputs) == (RunStatus.DEAD, {"email": "a@example.com"})
    assert not OperatorEvent.objects.exists()


def test_empty_edited_inputs_are_a_plain_retry(operator_client):
    run = make_run("test-final", status=RunStatus.DEAD, inputs={"message": "m"})
    response = operator_client.post(f"/runs/{run.pk}/retry/", {"inputs": "  "}, **htmx())
    assert response.status_code == 200
    run.refresh_from_db()
    assert (run.status, run.inputs) == (RunStatus.QUEUED, {"message": "m"})
    assert OperatorEvent.objects.get(run=run).details is None


def test_edited_inputs_for_a_workflow_dead_of_a_step_are_409(operator_client):
    run, _ = make_dead_workflow()
    response = operator_client.post(
        f"/runs/{run.pk}/retry/", {"inputs": '{"fail_first": 0}'}, **htmx()
    )
    assert response.status_code == 409
    assert "edit the inputs of that step" in response.content.decode()
    assert status_of(run) == RunStatus.DEAD


# --- resolve -------------------------------------------------------------------------


def test_resolving_a_dead_step_with_an_output_resumes_its_workflow(operator_client):
    run, (_, middle) = make_dead_workflow()
    form = operator_client.get(f"/runs/{middle.pk}/").content.decode()
    assert 'name="result"' in form
    assert "its workflow resumes as if this step had succeeded with it" in form
    response = operator_client.post(
        f"/runs/{middle.pk}/resolve/",
        {"note": "done by hand", "result": '{"attempt": "by hand"}'},
        **htmx("run-live"),
    )
    assert response.status_code == 200
    assert "the output you gave; its workflow resumes with it" in response.content.decode()
    assert status_of(run) == RunStatus.QUEUED
    drive()
    run.refresh_from_db()
    assert run.result["middle"] == {"attempt": "by hand"}
    html = operator_client.get(f"/runs/{middle.pk}/").content.decode()
    given = re.search(r'data-testid="given-output">(.*?)</div>', html, re.S)
    assert given is not None
    assert "&quot;attempt&quot;: &quot;by hand&quot;" in given.group(1)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("{oops", "the output: not valid JSON"),
        ("[]", "the output: must be a JSON object {…}, not an array"),
        ("null", "the output: must be a JSON object {…}, not null"),
        ('{"a": "\\u0000"}', "the output refused: $.a: NUL characters are not allowed"),
    ],
)
def test_an_output_that_is_not_valid_is_400_and_nothing_is_written(
    operator_client, result, message
):
    run, (_, middle) = make_dead_workflow()
    response = operator_client.post(
        f"/runs/{middle.pk}/resolve/", {"note": "by hand", "result": result}, **htmx()
    )
    assert response.status_code == 400
    assert f"Nothing done: {message}" in response.content.decode()
    assert (status_of(middle), status_of(run)) == (RunStatus.DEAD, RunStatus.DEAD)
    assert not OperatorEvent.objects.exists()


def test_resolving_without_an_output_resolves_the_workflow(operator_client):
    run, (_, middle) = make_dead_workflow()
    response = operator_client.post(
        f"/runs/{middle.pk}/resolve/", {"note": "refunded", "result": ""}, **htmx("run-live")
    )
    assert response.status_code == 200
    assert status_of(run) == RunStatus.RESOLVED


# --- who may -------------------------------------------------------------------------


def test_the_forms_follow_the_permissions(viewer_client, retrier, resolver):
    run, (_, middle) = make_dead_workflow()
    url = f"/runs/{middle.pk}/"
    viewer = viewer_client.get(url).content.decode()
    assert 'name="inputs"' not in viewer and 'name="result"' not in viewer
    as_retrier = retrier.get(url).content.decode()
    assert 'name="inputs"' in as_retrier and 'name="result"' not in as_retrier
    as_resolver = resolver.get(url).content.decode()
    assert 'name="inputs"' not in as_resolver and 'name="result"' in as_resolver


def test_the_views_check_the_permission_whatever_the_form(viewer_client, retrier, resolver):
    run, (_, middle) = make_dead_workflow()
    edit = {"inputs": '{"fail_first": 0}'}
    output = {"note": "n", "result": "{}"}
    assert viewer_client.post(f"/runs/{middle.pk}/retry/", edit).status_code == 403
    assert resolver.post(f"/runs/{middle.pk}/retry/", edit).status_code == 403
    assert retrier.post(f"/runs/{middle.pk}/resolve/", output).status_code == 403
    middle.refresh_from_db()
    assert (middle.status, middle.inputs) == (RunStatus.DEAD, {"fail_first": 1})
    assert not OperatorEvent.objects.exists()


# --- lists ---------------------------------------------------------------------------


def test_the_lists_mark_workflows_and_steps(operator_client):
    run, (first, middle) = make_dead_workflow()
    for url in ("/runs/", "/runs/failed/"):
        html = operator_client.get(url).content.decode()
        row = re.search(rf'<tr id="run-{run.pk}".*?</tr>', html, re.S).group(0)
        assert '<span class="marker workflow">workflow</span>' in row
        assert ">Retry dead step</button>" in row
        step_row = re.search(rf'<tr id="run-{middle.pk}".*?</tr>', html, re.S).group(0)
        assert (
            f'<a class="marker step" href="/runs/{run.pk}/">step 2 of {str(run.pk)[:8]}</a>'
            in step_row
        )


def test_the_kind_filter_lists_workflows_only(operator_client):
    run, _ = make_dead_workflow()
    plain = make_run("test-noop")
    response = operator_client.get("/runs/?kind=workflow")
    assert [r.pk for r in response.context["page"].rows] == [run.pk]
    html = response.content.decode()
    assert '<option value="workflow" selected>workflows only</option>' in html
    assert plain.pk in [
        r.pk for r in operator_client.get("/runs/?kind=action").context["page"].rows
    ]


def test_the_steps_of_a_workflow_have_a_heading_and_a_way_back(operator_client):
    run, steps = make_dead_workflow()
    make_run("test-noop")
    response = operator_client.get(f"/runs/?parent={run.pk}")
    assert {r.pk for r in response.context["page"].rows} == {s.pk for s in steps}
    html = response.content.decode()
    assert "Steps of workflow test-wf-repair" in text_of(html)
    assert f'<a href="/runs/{run.pk}/">back to the workflow</a>' in html
    assert f'<input type="hidden" name="parent" value="{run.pk}">' in html  # kept by the form
    failed = operator_client.get(f"/runs/failed/?parent={run.pk}")
    assert [r.pk for r in failed.context["page"].rows] == [steps[1].pk]


def test_the_list_of_steps_reads_no_row_twice(operator_client, django_assert_max_num_queries):
    run = submit("test-wf-long", {"n": 40})
    drive()
    operator_client.get("/runs/")  # warm the session and the permission cache's tables
    # session, user, two permission lookups, the page, the capped count
    with django_assert_max_num_queries(6):
        response = operator_client.get("/runs/")
    assert response.content.decode().count('class="marker step"') == 40
    # and the workflow the heading names
    with django_assert_max_num_queries(7):
        response = operator_client.get(f"/runs/?parent={run.pk}")
    assert len(response.context["page"].rows) == 40


def test_waiting_is_a_status_filter_with_its_badge(operator_client):
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    response = operator_client.get("/runs/?status=waiting")
    assert [r.pk for r in response.context["page"].rows] == [run.pk]
    html = response.content.decode()
    assert '<option value="waiting" selected>waiting</option>' in html
    assert '<span class="badge waiting">waiting</span>' in html


def test_the_overview_counts_waiting_workflows(operator_client):
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    response = operator_client.get("/")
    assert int(response.context["counts"]["waiting"]) == 1
    assert '<a class="tile waiting" href="/runs/?status=waiting">' in response.content.decode()


def test_the_actions_page_says_which_are_workflows(operator_client):
    html = operator_client.get("/actions/").content.decode()
    row = re.search(r'<tr id="action-test-wf-repair">.*?</tr>', html, re.S).group(0)
    assert '<span class="marker workflow">workflow</span>' in row
    plain = re.search(r'<tr id="action-test-noop">.*?</tr>', html, re.S).group(0)
    assert "workflow" not in plain


def test_cancelling_a_waiting_workflow_from_its_page_cancels_its_pending_steps(operator_client):
    run = submit("test-wf-parallel", {"n": 2})
    execute_run(str(run.pk))
    page = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert ">Cancel</button>" in page
    response = operator_client.post(f"/runs/{run.pk}/cancel/", **htmx("run-live"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge cancelled" data-testid="run-status">cancelled</span>' in html
    assert text_of(html).count("cancelled 0 attempts") == 2  # both steps, never started
