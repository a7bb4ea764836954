"""An optional bearer token in front of the admin API (issue 11).

    handler = with_admin_token(admin_handler, read_token_file(opts.admin_token_file))

Without a token configured the admin API is open, as Restate's is by default. With one, every
request but the health check (`GET /health`, also under a `/vN` prefix: probes and load
balancers carry no secrets) and the web UI's static files (`/ui`, which then asks for the token)
must carry `Authorization: Bearer <token>`, which is what Restate's
CLI sends for `RESTATE_AUTH_TOKEN` and Perdure's CLI for `PERDURE_ADMIN_TOKEN`; anything else is
answered 401 in Restate's admin error shape with `www-authenticate: Bearer`, before the request
reaches a route. The comparison is constant-time (`hmac.compare_digest` over the UTF-8 bytes),
so response timing does not reveal how much of a guess was right.
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path

from ingress.http_types import Handler, Request, Response
from node import config
from node.admin_api import admin_error

# Open: the health check, and the web UI's static files (they hold no data; the UI asks for the
# token when its first API call is refused).
_OPEN = re.compile(r"^(/v\d+)?/health/?$|^/ui(/(index\.html|app\.js|style\.css)?)?$")
_BEARER = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)


class Error(config.Error):
    """The token file cannot be used; the message names it and what to do."""


def read_token_file(path: str) -> str | None:
    """The token in `path` (surrounding whitespace removed); None when `path` is empty."""
    if not path:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise Error(f"setting admin_token_file: cannot read {path}: {exc}") from exc
    if not token or any(c.isspace() for c in token):
        raise Error(
            f"setting admin_token_file: {path} must hold one token without spaces "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    return token


def authorized(request: Request, token: bytes) -> bool:
    match = _BEARER.match(request.headers.get("authorization", ""))
    if match is None:
        return False
    # Header values are read as latin-1: encoding back gives the bytes that were sent.
    return hmac.compare_digest(match.group(1).encode("latin-1"), token)


def with_admin_token(handler: Handler, token: str | None) -> Handler:
    """`handler` behind the bearer token `token` (None: `handler` itself, open)."""
    if token is None:
        return handler
    expected = token.encode("utf-8")

    async def guarded(request: Request) -> Response:
        if _OPEN.match(request.path) or authorized(request, expected):
            return await handler(request)
        has_header = "authorization" in request.headers
        response = admin_error(
            401,
            "the admin API needs a bearer token: send 'Authorization: Bearer <token>' (the "
            "restate CLI: set RESTATE_AUTH_TOKEN; perdure: set PERDURE_ADMIN_TOKEN)"
            if not has_header
            else "the bearer token is not the admin API's token",
        )
        challenge = ("www-authenticate", 'Bearer realm="perdure-admin"')
        return Response(response.status, response.body, (*response.headers, challenge))

    guarded.error_response = admin_error  # type: ignore[attr-defined]
    return guarded
