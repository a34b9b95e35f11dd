"""REST API URLs, mounted at /api/ (see DESIGN.md)."""

from django.urls import path, re_path

from .actions import ActionDetail, ActionList, PauseAction, ResumeAction
from .errors import api_not_found
from .runs import CancelRun, ResolveRun, RetryRun, RunDetail, RunList, SubmitRun
from .schema import DocsView, SchemaView

app_name = "api"
urlpatterns = [
    path("actions/", ActionList.as_view(), name="action-list"),
    path("actions/<str:name>/", ActionDetail.as_view(), name="action-detail"),
    path("actions/<str:name>/runs/", SubmitRun.as_view(), name="action-submit"),
    path("actions/<str:name>/pause/", PauseAction.as_view(), name="action-pause"),
    path("actions/<str:name>/resume/", ResumeAction.as_view(), name="action-resume"),
    path("runs/", RunList.as_view(), name="run-list"),
    path("runs/<str:run_id>/", RunDetail.as_view(), name="run-detail"),
    path("runs/<str:run_id>/retry/", RetryRun.as_view(), name="run-retry"),
    path("runs/<str:run_id>/resolve/", ResolveRun.as_view(), name="run-resolve"),
    path("runs/<str:run_id>/cancel/", CancelRun.as_view(), name="run-cancel"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    # Last: every other URL under /api/ answers a JSON 404 (not an HTML page or a redirect).
    re_path(r"^", api_not_found, name="not-found"),
]
