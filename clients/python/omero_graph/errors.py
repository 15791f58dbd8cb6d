"""Errors of the omero-graph client: one class per GraphQL error code a notebook reacts to.

Every failure the client reports is a ``GraphError`` (never a bare ``urllib`` exception);
``.code`` is the GraphQL ``extensions.code`` of the first error (``None`` when the gateway could
not be reached at all), ``.errors`` all GraphQL errors as sent, ``.data`` any partial data and
``.status`` the HTTP status.
"""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    """A GraphQL or transport error from the gateway."""

    def __init__(self, message: str, code: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 data: Any = None, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.message = message
        self.code = code
        self.errors = errors or []
        self.data = data
        self.status = status


class Unauthenticated(GraphError):
    """UNAUTHENTICATED: the session key is unknown, closed or expired, or none was sent."""


class Forbidden(GraphError):
    """FORBIDDEN: signed in, but not allowed to do this."""


class NotFound(GraphError):
    """NOT_FOUND: nothing with this id exists that you may see."""


class BadUserInput(GraphError):
    """BAD_USER_INPUT: an argument or variable the gateway refuses (names it in .errors)."""


class InvalidQuery(GraphError):
    """GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED: the document itself is wrong."""


class LoginFailed(GraphError):
    """LOGIN_FAILED: OMERO refused the user name or password."""


class ServiceUnavailable(GraphError):
    """SERVICE_UNAVAILABLE / LOGIN_UNAVAILABLE: a service behind the gateway is down; try later."""


class RateLimited(GraphError):
    """RATE_LIMITED: too many requests; ``.retry_after`` is the wait the gateway asked for (s)."""

    def __init__(self, message: str, code: str | None = "RATE_LIMITED", *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, code, **kw)
        self.retry_after = retry_after


class ConnectionFailed(GraphError):
    """The gateway could not be reached, or the connection broke (code None)."""


_BY_CODE: dict[str, type[GraphError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "FORBIDDEN": Forbidden,
    "NOT_FOUND": NotFound,
    "BAD_USER_INPUT": BadUserInput,
    "GRAPHQL_PARSE_FAILED": InvalidQuery,
    "GRAPHQL_VALIDATION_FAILED": InvalidQuery,
    "LOGIN_FAILED": LoginFailed,
    "SERVICE_UNAVAILABLE": ServiceUnavailable,
    "LOGIN_UNAVAILABLE": ServiceUnavailable,
    "RATE_LIMITED": RateLimited,
}


def error_from_response(body: Any, status: int | None = None, retry_after_header: str | None = None) -> GraphError:
    """The GraphError for a GraphQL response body carrying ``errors`` (or an unreadable body)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return GraphError(f"HTTP {status}: the gateway sent no GraphQL errors", None, status=status)
    first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
    extensions = first.get("extensions") or {}
    code = extensions.get("code")
    message = str(first.get("message", "GraphQL error"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more error(s))"
    cls = _BY_CODE.get(code, GraphError)
    kw: dict[str, Any] = {"errors": errors, "data": body.get("data"), "status": status}
    if cls is RateLimited:
        return RateLimited(message, code, retry_after=_retry_after(retry_after_header, extensions.get("retryAfter")), **kw)
    return cls(message, code, **kw)


def _retry_after(header: str | None, extension: Any) -> float | None:
    for value in (header, extension):
        try:
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return None
