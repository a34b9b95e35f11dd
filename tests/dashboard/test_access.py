"""Who may see the dashboard and press its buttons (DESIGN.md's permission matrix), and CSRF."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.dashboard.conftest import htmx, signed_in
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db

PAGES = ["/", "/runs/", "/runs/failed/", "/actions/"]


@pytest.fixture
def dead_run():
    return make_dead_run()


def pages(run) -> list[str]:
    return [*PAGES, f"/runs/{run.pk}/"]


def test_anonymous_visitors_are_sent_to_login(client, dead_run):
    for url in pages(dead_run):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_an_expired_session_sends_htmx_requests_to_login_as_a_whole_page(client, dead_run):
    url = f"/runs/{dead_run.pk}/"
    response = client.get(url, **htmx("run-live", current_url=f"http://testserver{url}"))
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=%2Fruns%2F{dead_run.pk}%2F"
    assert b"<form" not in response.content  # not the login page swapped into a fragment


def test_an_expired_session_sends_htmx_posts_to_login(client, dead_run):
    response = client.post(
        f"/runs/{dead_run.pk}/retry/", **htmx(current_url="http://testserver/runs/failed/")
    )
    assert response["HX-Redirect"] == f"{reverse('login')}?next=%2Fruns%2Ffailed%2F"
    dead_run.refresh_from_db()
    assert dead_run.status == "dead"


def test_signed_in_users_without_permission_are_refused(outsider_client, dead_run):
    for url in pages(dead_run):
        response = outsider_client.get(url)
        assert response.status_code == 403, url
        assert b"view_run permission" in response.content


def test_staff_status_alone_is_not_enough(dead_run):
    from tests.factories import make_user

    client = signed_in(make_user("stella-staff"))
    assert client.get("/runs/").status_code == 403


def test_view_run_without_staff_status_is_not_enough(dead_run):
    from tests.factories import make_user

    client = signed_in(make_user("nora-nonstaff", "actions.view_run", staff=False))
    assert client.get("/runs/").status_code == 403


def test_viewers_and_operators_see_every_page(viewer_client, operator_client, dead_run):
    for client in (viewer_client, operator_client):
        for url in pages(dead_run):
            assert client.get(url).status_code == 200, url


def test_viewers_see_no_buttons(viewer_client, dead_run):
    make_run("test-noop", status="queued")
    make_run("test-noop", status="retrying")
    for url in ["/runs/", "/runs/failed/", f"/runs/{dead_run.pk}/", "/actions/"]:
        html = viewer_client.get(url).content.decode()
        for label in ("Retry now", "Resolve…", ">Cancel<", ">Pause<", "Retry selected"):
            assert label not in html, (url, label)


def test_operators_see_the_buttons_their_runs_allow(operator_client, dead_run):
    retrying = make_run("test-noop", status="retrying")
    html = operator_client.get("/runs/failed/").content.decode()
    assert html.count("Retry now") == 2
    assert html.count("Resolve…") == 1  # only the dead run
    assert html.count(">Cancel<") == 1  # only the retrying run
    assert f'value="{retrying.pk}" form="bulk-form"' in html
    assert "Pause" in operator_client.get("/actions/").content.decode()


@pytest.mark.parametrize(
    ("perm", "path"),
    [
        ("actions.retry_run", "retry"),
        ("actions.resolve_run", "resolve"),
        ("actions.cancel_run", "cancel"),
    ],
)
def test_each_button_needs_its_own_permission(perm, path):
    from tests.factories import make_user

    run = make_dead_run() if path != "cancel" else make_run("test-noop", status="retrying")
    others = {"actions.retry_run", "actions.resolve_run", "actions.cancel_run"} - {perm}
    client = signed_in(make_user("partial-operator", "actions.view_run", *others))
    response = client.post(f"/runs/{run.pk}/{path}/", {"note": "done by hand"})
    assert response.status_code == 403
    assert b"do not have permission" in response.content
    status = run.status
    run.refresh_from_db()
    assert run.status == status


def test_viewers_cannot_post_operator_actions(viewer_client, dead_run):
    for path in ("retry", "resolve", "cancel"):
        response = viewer_client.post(f"/runs/{dead_run.pk}/{path}/", {"note": "x"}, **htmx())
        assert response.status_code == 403
        assert response["HX-Retarget"] == "#messages"
    assert viewer_client.post("/actions/test-noop/pause/").status_code == 403
    assert viewer_client.post("/actions/test-noop/resume/").status_code == 403
    response = viewer_client.post("/runs/bulk/", {"op": "retry", "ids": [str(dead_run.pk)]})
    assert response.status_code == 403
    dead_run.refresh_from_db()
    assert dead_run.status == "dead"


def test_outsiders_cannot_post_operator_actions(outsider_client, dead_run):
    response = outsider_client.post(f"/runs/{dead_run.pk}/retry/")
    assert response.status_code == 403
    dead_run.refresh_from_db()
    assert dead_run.status == "dead"


def test_posts_without_a_csrf_token_are_refused(operator, dead_run):
    client = signed_in(operator, enforce_csrf_checks=True)
    response = client.post(f"/runs/{dead_run.pk}/retry/", **htmx())
    assert response.status_code == 403
    dead_run.refresh_from_db()
    assert dead_run.status == "dead"


def test_posts_with_the_csrf_header_htmx_sends_are_accepted(operator, dead_run):
    client = signed_in(operator, enforce_csrf_checks=True)
    page = client.get("/runs/failed/")
    token = page.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page.content.decode()
    response = client.post(f"/runs/{dead_run.pk}/retry/", HTTP_X_CSRFTOKEN=str(token), **htmx())
    assert response.status_code == 200
    dead_run.refresh_from_db()
    assert dead_run.status == "queued"


def test_pages_answer_get_only(operator_client):
    assert operator_client.post("/runs/").status_code == 405
    assert operator_client.get("/runs/bulk/").status_code == 405


def test_pages_reference_no_external_host(operator_client, dead_run):
    for url in pages(dead_run):
        html = operator_client.get(url).content.decode()
        assert "//" not in html.replace("http://www.w3.org", ""), url


def test_the_login_page_renders(db):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content
