"""The REST API (DESIGN.md, "REST API"): one small DRF view per endpoint.

``actions`` and ``runs`` hold the views; each checks the request's shape (``parsing``)
and permission (``permissions``), then calls the same core function as the dashboard
and the Python API. ``serializers`` shape the bodies, ``schema`` documents them, and
``errors`` turns every error into the JSON error body and its HTTP status.
"""
