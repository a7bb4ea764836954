"""A client of one node's admin API (port 9070): GET a path, get its JSON, or a one-line
`Error` that says what went wrong and what to do about it."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9070"
URL_ENV = "PERDURE_ADMIN_URL"
TOKEN_ENV = "PERDURE_ADMIN_TOKEN"  # sent as `Authorization: Bearer ...` (node: admin_token_file)
DEFAULT_TIMEOUT_S = 10.0


class Error(Exception):
    """A command could not get its answer; the message is one line, meant for the operator."""


class Unreachable(Error):
    """Nothing answered at the admin URL (refused, unknown host, timed out)."""


class BadAnswer(Error):
    """The node answered, but with an error status or a body the command does not understand."""


def admin_url(flag: str | None, env: dict[str, str] | None = None) -> str:
    """The admin API's base URL: the flag, else $PERDURE_ADMIN_URL, else the local default;
    "host:port" means http://host:port."""
    environ = os.environ if env is None else env
    url = (flag or environ.get(URL_ENV) or DEFAULT_URL).strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def admin_token(env: dict[str, str] | None = None) -> str | None:
    """The admin API's bearer token from $PERDURE_ADMIN_TOKEN (None: unset or empty)."""
    environ = os.environ if env is None else env
    return environ.get(TOKEN_ENV, "").strip() or None


class AdminClient:
    def __init__(
        self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S, token: str | None = None
    ) -> None:
        """`token`: the bearer token to send (default: $PERDURE_ADMIN_TOKEN, if set)."""
        self.base_url = base_url
        self._timeout_s = timeout_s
        self._token = token if token is not None else admin_token()

    def get_json(self, path: str) -> Any:
        """GET `path` and parse its JSON body. Raises Unreachable or BadAnswer."""
        return self.call("GET", path)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """`method` `path` with `body` as JSON (None: no body); the answer's JSON body.
        Raises Unreachable or BadAnswer."""
        url = self.base_url + path
        headers = {"accept": "application/json"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data, headers["content-type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            hint = ""
            if err.code == 401:
                hint = f" (set {TOKEN_ENV} to the token in the node's admin_token_file)"
            raise BadAnswer(
                f"{method} {url} answered {err.code}: {_message(err.read())}{hint}"
            ) from err
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise Unreachable(
                f"cannot reach the admin API at {self.base_url} ({_reason(err)}); is the node "
                f"running? Point --admin-url or {URL_ENV} at its admin port (9070 by default)"
            ) from err
        try:
            return json.loads(body)
        except ValueError as err:
            raise BadAnswer(f"{method} {url} answered something that is not JSON ({err})") from err


def _reason(err: BaseException) -> str:
    reason: object = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _message(body: bytes) -> str:
    """The admin error body's message (`{"message": ...}`), else the body itself, one line."""
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        text = doc["message"]
    return " ".join(text.split())[:300] or "(empty body)"
