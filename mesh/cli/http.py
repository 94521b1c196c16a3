"""A small blocking JSON client of meshd's API over urllib, with clear errors."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from mesh.cli.errors import ApiError, ConnectError, UsageError
from mesh.transport.address import AddressError, format_address, parse_address

DEFAULT_API = "127.0.0.1:7947"
MAX_RESPONSE = 64 * 1024 * 1024


def base_url(api: str) -> str:
    """`HOST:PORT`, `[v6]:PORT`, a bare host, or an http(s) URL -> a base URL."""
    text = api.strip()
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or not text.isprintable():
            raise UsageError(f"bad --api {api!r}: expected HOST:PORT or http://HOST:PORT")
        try:
            parse_address(parts.netloc, default_port=443 if parts.scheme == "https" else 80)
        except AddressError as e:
            raise UsageError(f"bad --api {api!r}: {e}") from None
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    try:
        host, port = parse_address(text, default_port=int(DEFAULT_API.rsplit(":", 1)[1]))
    except AddressError as e:
        raise UsageError(f"bad --api {api!r}: {e}") from None
    if port == 0 or not host.isprintable() or any(c in host for c in "/?#@ %\\"):
        raise UsageError(f"bad --api {api!r}: expected HOST:PORT")
    return f"http://{format_address((host, port))}"


def quote(segment: str) -> str:
    """One path segment, percent-encoded ('/' included)."""
    try:
        return urllib.parse.quote(segment, safe="")
    except UnicodeEncodeError:
        raise UsageError(f"{segment!r} is not valid text") from None


# meshd is local or on the underlay: never go through the environment's HTTP proxies.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, RecursionError):
            raise ApiError(self.status, "server sent a body that is not JSON") from None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class ApiClient:
    """Requests to one meshd; raises ConnectError or ApiError, never urllib's exceptions."""

    base: str
    token: str | None = None
    timeout: float = 10.0

    def request(
        self, method: str, path: str, body: Any = None, *, has_body: bool = False
    ) -> Response:
        data = None
        headers = {"Accept": "application/json"}
        if has_body or body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            req = urllib.request.Request(
                self.base + path, data=data, method=method, headers=headers
            )
        except ValueError as e:
            raise UsageError(f"bad request URL {self.base + path!r}: {e}") from None
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                return Response(
                    resp.status, resp.headers.get("Content-Type", ""), resp.read(MAX_RESPONSE)
                )
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _error_message(e)) from None
        except urllib.error.URLError as e:
            raise ConnectError(f"cannot reach meshd at {self.base}: {_reason(e.reason)}") from None
        except TimeoutError:
            raise ConnectError(
                f"meshd at {self.base} did not answer within {self.timeout:g}s"
            ) from None
        except (OSError, ValueError) as e:  # reset mid-response, bad status line, ...
            raise ConnectError(f"talking to meshd at {self.base} failed: {e}") from None

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def put(self, path: str, body: Any) -> Response:
        return self.request("PUT", path, body, has_body=True)

    def post(self, path: str, body: Any) -> Response:
        return self.request("POST", path, body, has_body=True)

    def patch(self, path: str, body: Any) -> Response:
        return self.request("PATCH", path, body, has_body=True)

    def delete(self, path: str) -> Response:
        return self.request("DELETE", path)


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is meshd running? see --api)"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)


def _error_message(e: urllib.error.HTTPError) -> str:
    """The server's message: {"error": ..., "field": ...} if JSON, else the text, else the
    reason."""
    try:
        raw = e.read(64 * 1024)
    except OSError:
        raw = b""
    try:
        obj = json.loads(raw)
        if isinstance(obj, dict) and isinstance(obj.get("error"), str):
            field = obj.get("field")  # the input field to blame, if the server names one
            if isinstance(field, str) and field:
                return f"{field}: {obj['error']}"
            return str(obj["error"])
    except (ValueError, RecursionError):
        pass
    text = raw.decode("utf-8", errors="replace").strip()
    if text and len(text) <= 300 and "\n" not in text:
        return text
    return str(e.reason or "error")
