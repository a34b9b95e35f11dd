from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from actions.health_view import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("api/", include("actions.api.urls")),
    path("", include("actions.views.urls")),
]

# JSON under /api/, Django's own pages elsewhere.
handler400 = "actions.api.errors.bad_request"
handler404 = "actions.api.errors.page_not_found"
handler500 = "actions.api.errors.server_error"
