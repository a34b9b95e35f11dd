"""The permission matrix of DESIGN.md as DRF permission classes.

A permission class that says no to an anonymous request makes DRF answer 401
(token authentication is listed first, so it sends ``WWW-Authenticate``); to a
signed-in user without the permission, 403.
"""

from rest_framework.permissions import BasePermission

from .. import rules


def requires(verb: str) -> type[BasePermission]:
    """A permission class granting access to authenticated users who may ``verb``."""
    perm = rules.PERMISSIONS[verb]

    class HasPermission(BasePermission):
        message = f"this needs the permission {perm}"

        def has_permission(self, request, view) -> bool:
            return rules.user_may(request.user, verb)

    HasPermission.__name__ = HasPermission.__qualname__ = f"Requires_{perm.replace('.', '_')}"
    return HasPermission


CanViewRuns = requires("view")
CanSubmitRuns = requires("submit")
CanRetryRuns = requires("retry")
CanResolveRuns = requires("resolve")
CanCancelRuns = requires("cancel")
CanPauseActions = requires("pause")
