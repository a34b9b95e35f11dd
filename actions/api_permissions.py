"""The permission matrix of DESIGN.md as DRF permission classes.

A permission class that says no to an anonymous request makes DRF answer 401
(token authentication is listed first, so it sends ``WWW-Authenticate``); to a
signed-in user without the permission, 403.
"""

from rest_framework.permissions import BasePermission


def requires(perm: str) -> type[BasePermission]:
    """A permission class granting access to authenticated users holding ``perm``."""

    class HasPermission(BasePermission):
        message = f"this needs the permission {perm}"

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(perm))

    HasPermission.__name__ = HasPermission.__qualname__ = f"Requires_{perm.replace('.', '_')}"
    return HasPermission


CanViewRuns = requires("actions.view_run")
CanSubmitRuns = requires("actions.submit_run")
CanRetryRuns = requires("actions.retry_run")
CanResolveRuns = requires("actions.resolve_run")
CanCancelRuns = requires("actions.cancel_run")
CanPauseActions = requires("actions.pause_action")
