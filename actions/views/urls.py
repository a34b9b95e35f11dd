"""Dashboard URLs, mounted at / (see DESIGN.md)."""

from django.urls import path

from . import operations, pages

app_name = "actions"
urlpatterns = [
    path("", pages.overview, name="overview"),
    path("runs/", pages.run_list, name="run-list"),
    path("runs/failed/", pages.run_failed, name="run-failed"),
    path("runs/bulk/", operations.run_bulk, name="run-bulk"),
    path("runs/<uuid:run_id>/", pages.run_detail, name="run-detail"),
    path("runs/<uuid:run_id>/retry/", operations.run_retry, name="run-retry"),
    path("runs/<uuid:run_id>/resolve/", operations.run_resolve, name="run-resolve"),
    path("runs/<uuid:run_id>/cancel/", operations.run_cancel, name="run-cancel"),
    path("actions/", pages.action_list, name="action-list"),
    path("actions/<slug:name>/pause/", operations.action_pause, name="action-pause"),
    path("actions/<slug:name>/resume/", operations.action_resume, name="action-resume"),
    path("jobs/<int:job_id>/", pages.job_detail, name="job-detail"),
]
