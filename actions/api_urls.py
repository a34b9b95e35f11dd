"""REST API URLs, mounted at /api/ (see DESIGN.md)."""

from django.urls import path, re_path

from . import api

app_name = "api"
urlpatterns = [
    path("actions/", api.ActionList.as_view(), name="action-list"),
    path("actions/<str:name>/", api.ActionDetail.as_view(), name="action-detail"),
    path("actions/<str:name>/runs/", api.SubmitRun.as_view(), name="action-submit"),
    path("actions/<str:name>/pause/", api.PauseAction.as_view(), name="action-pause"),
    path("actions/<str:name>/resume/", api.ResumeAction.as_view(), name="action-resume"),
    path("runs/", api.RunList.as_view(), name="run-list"),
    path("runs/<str:run_id>/", api.RunDetail.as_view(), name="run-detail"),
    path("runs/<str:run_id>/retry/", api.RetryRun.as_view(), name="run-retry"),
    path("runs/<str:run_id>/resolve/", api.ResolveRun.as_view(), name="run-resolve"),
    path("runs/<str:run_id>/cancel/", api.CancelRun.as_view(), name="run-cancel"),
    path("schema/", api.SchemaView.as_view(), name="schema"),
    path("docs/", api.DocsView.as_view(url_name="api:schema"), name="docs"),
    # Last: every other URL under /api/ answers a JSON 404 (not an HTML page or a redirect).
    re_path(r"^", api.api_not_found, name="not-found"),
]
