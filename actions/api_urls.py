"""REST API URLs, mounted at /api/ (see DESIGN.md)."""

app_name = "api"
urlpatterns: list = []
