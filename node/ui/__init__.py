"""The web UI (`GET /ui` on the admin API): static files, plain HTML, CSS and JavaScript over
the admin API itself (no build step, nothing fetched from the internet)."""

from __future__ import annotations

from importlib import resources

from ingress.http_types import Response

_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


def serve(path: list[str]) -> Response | None:
    """The file at `/ui/<path>` ("" or nothing: index.html); None when there is none."""
    name = "/".join(p for p in path if p) or "index.html"
    content_type = _TYPES.get(name)
    if content_type is None:
        return None
    body = resources.files(__name__).joinpath(name).read_bytes()
    headers = (("content-type", content_type), ("cache-control", "no-cache"))
    return Response(200, body, headers)
