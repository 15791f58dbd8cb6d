"""HTTP to the gateway with urllib only: GraphQL POSTs, downloads and event streams.

Every failure leaves here as a GraphError; RATE_LIMITED answers are retried after the wait the
gateway names (Retry-After), a bounded number of times.
"""

from __future__ import annotations

import datetime as _dt
import http.client
import io
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from . import __version__
from .errors import ConnectionFailed, GraphError, RateLimited, error_from_response
from .sse import events as sse_events

#: what a GraphQL POST accepts: the GraphQL-over-HTTP media type, then plain JSON
ACCEPT_JSON = "application/graphql-response+json, application/json"
USER_AGENT = f"omero-graph-python/{__version__}"


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=_json_default).encode("utf-8")


class Transport:
    def __init__(self, url: str, *, session_key: str | None = None, timeout: float = 60.0,
                 max_retries: int = 3, max_retry_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url
        self.session_key = session_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep

    def headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if self.session_key:
            headers["Authorization"] = f"Bearer {self.session_key}"
        return headers

    def with_retries(self, attempt: Callable[[], Any]) -> Any:
        """Runs attempt(), waiting Retry-After and trying again on RATE_LIMITED (max_retries times)."""
        for tries in range(self.max_retries + 1):
            try:
                return attempt()
            except RateLimited as err:
                if tries == self.max_retries:
                    raise
                self.sleep(min(self.max_retry_wait, err.retry_after if err.retry_after is not None else 1.0))
        raise AssertionError("unreachable")

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL request; the whole response body (data and no errors) or a GraphError."""
        def attempt() -> dict[str, Any]:
            headers = {**self.headers(ACCEPT_JSON), "Content-Type": "application/json"}
            request = urllib.request.Request(self.url, data=encode(body), headers=headers, method="POST")
            with self._open(request, self.timeout) as response:
                result = _read_json(response.read(), response.status)
            if result.get("errors"):
                raise error_from_response(result, response.status)
            return result
        return self.with_retries(attempt)

    def download(self, url: str, write: Callable[[bytes], None]) -> None:
        """GET url, handing its body to write() in chunks."""
        def attempt() -> None:
            request = urllib.request.Request(url, headers=self.headers("application/json"), method="GET")
            with self._open(request, self.timeout) as response:
                while chunk := response.read(65536):
                    write(chunk)
        self.with_retries(attempt)

    def open_stream(self, body: dict[str, Any], read_timeout: float) -> http.client.HTTPResponse:
        """POSTs an operation with Accept: text/event-stream; the open response to read events from."""
        headers = {**self.headers("text/event-stream"), "Content-Type": "application/json"}
        request = urllib.request.Request(self.url, data=encode(body), headers=headers, method="POST")
        return self.with_retries(lambda: self._open(request, read_timeout))

    def _open(self, request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as err:
            with err:
                raw = err.read()
            body = _error_body(raw)
            if isinstance(body, dict) and body.get("errors"):
                raise error_from_response(body, err.code, err.headers.get("Retry-After")) from None
            if err.code == 429:
                raise RateLimited(f"HTTP 429 from {request.full_url}", retry_after=_float(err.headers.get("Retry-After")), status=429) from None
            raise GraphError(f"HTTP {err.code} from {request.full_url}: {raw[:200].decode('utf-8', 'replace')}", None, status=err.code) from None
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ConnectionFailed(f"cannot reach {request.full_url}: {reason}") from None


def _error_body(raw: bytes) -> Any:
    """The JSON body of an error answer; for an event stream (a subscription refused with 401),
    the result of its first ``next`` event."""
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        pass
    try:
        for message in sse_events(io.BytesIO(raw)):
            if message.event == "next":
                return json.loads(message.data)
    except ValueError:
        pass
    return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _read_json(raw: bytes, status: int) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise GraphError(f"the gateway answered HTTP {status} with a body that is not JSON", None, status=status) from None
    if not isinstance(body, dict):
        raise GraphError("the gateway answered with JSON that is not a GraphQL response", None, status=status)
    return body


#: exceptions that mean an open event stream broke (a subscription then resumes from its cursor)
STREAM_BROKEN: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException, ValueError)
