"""Dashboard URLs, mounted at / (see DESIGN.md)."""

app_name = "actions"
urlpatterns: list = []
