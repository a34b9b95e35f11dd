"""Dashboard URLs, mounted at / (see DESIGN.md)."""

from django.urls import path

from . import views

app_name = "actions"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/failed/", views.run_failed, name="run-failed"),
    path("runs/bulk/", views.run_bulk, name="run-bulk"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<uuid:run_id>/retry/", views.run_retry, name="run-retry"),
    path("runs/<uuid:run_id>/resolve/", views.run_resolve, name="run-resolve"),
    path("runs/<uuid:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("actions/", views.action_list, name="action-list"),
    path("actions/<slug:name>/pause/", views.action_pause, name="action-pause"),
    path("actions/<slug:name>/resume/", views.action_resume, name="action-resume"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
]
