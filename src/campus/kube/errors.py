"""The API server's refusals and the network's failures, as campus's own errors.

lightkube reports them in httpx2's terms: an `ApiError` carrying the Status the server sent
back; a bare `HTTPStatusError` when the answer was not JSON, or when a watch or an exec was
refused before its body was read; a websocket upgrade refused for an exec; transport
errors; and a `ConfigError` when a credential plugin fails mid-request. `translated()`
turns all of them into the few types below, once, at the edge: the rest of campus catches
`NotFound` or `Forbidden` and never looks at an HTTP status code.

Each is a `ClusterError`, so whatever nobody catches is printed to the operator as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

import httpx2
from httpx2.websockets import HTTPXWSException, WebSocketUpgradeError
from lightkube.core.exceptions import ApiError, ConfigError, NotReadyError

from campus.errors import ClusterError


class ApiFailure(ClusterError):
    """A request to the API server failed. `code` is the HTTP status (None when no answer
    came back); `reason` is the server's own message, or the transport's."""

    def __init__(self, reason: str, code: int | None = None, *, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.code = code

    def saying(self, message: str) -> Self:
        """The same failure (type, code, reason), told with `message`: its context first."""
        told = type(self).__new__(type(self))
        told.__dict__.update(self.__dict__)
        told.args = (message,)
        return told

    @property
    def transient(self) -> bool:
        """Worth retrying as it is: no answer, an overloaded or failing server."""
        return self.code is None or self.code == 429 or self.code >= 500


class Unauthorized(ApiFailure):
    """401: the credentials were refused (expired, revoked, or for another cluster)."""


class Forbidden(ApiFailure):
    """403: the credentials are good but may not do this (RBAC)."""


class NotFound(ApiFailure):
    """404: no such object, namespace or kind."""


class Conflict(ApiFailure):
    """409: the object exists already, or changed since it was read."""


class Gone(ApiFailure):
    """410: a watch's or a list's resourceVersion is too old; list again."""


class TooManyRequests(ApiFailure):
    """429: not now. The server is throttling, or (from the Eviction API) the pod's
    PodDisruptionBudget allows no disruption at the moment: the message says which."""


class Refused(ApiFailure):
    """Any other refusal: an invalid object (422), a server error."""


class Unreachable(ApiFailure):
    """No answer: the server could not be reached, or the connection broke or timed out."""

    def __init__(self, reason: str, server: str) -> None:
        super().__init__(reason, None, message=f"cannot reach the API server {server}: {reason}")
        self.server = server


_BY_CODE: dict[int, type[ApiFailure]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    429: TooManyRequests,
}


def failure(code: int | None, reason: str) -> ApiFailure:
    """The error type for an HTTP status code, carrying the server's message."""
    kind = _BY_CODE.get(code, Refused) if code is not None else Refused
    return kind(reason, code)


def _answer_message(response: httpx2.Response) -> str:
    """The message of an error answer: the Status's message when it sent one (reading the
    body first if it was streamed), else its text, else the reason phrase."""
    try:
        body = response.read()
    except (httpx2.HTTPError, httpx2.StreamError, RuntimeError):
        body = b""
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    text = body.decode(errors="replace").strip()
    return text[:500] or response.reason_phrase or f"HTTP {response.status_code}"


def _server_of(error: httpx2.HTTPError | HTTPXWSException, server: str) -> str:
    try:
        url = error.request.url  # type: ignore[union-attr]
    except (AttributeError, RuntimeError):  # no request attached (websocket errors)
        return server or "(unknown address)"
    return f"{url.scheme}://{url.netloc.decode()}"


def translate(error: Exception, server: str = "") -> ApiFailure:
    """The campus error for an error lightkube or httpx2 raised; `server`, the API server's
    address, names it when the error itself does not."""
    if isinstance(error, ApiFailure):
        return error
    if isinstance(error, ApiError):  # before HTTPStatusError: ApiError is one
        status = error.status
        return failure(status.code, status.message or status.reason or f"HTTP {status.code}")
    if isinstance(error, httpx2.HTTPStatusError):
        return failure(error.response.status_code, _answer_message(error.response))
    if isinstance(error, WebSocketUpgradeError):
        return failure(error.response.status_code, _answer_message(error.response))
    if isinstance(error, ConfigError):  # a credential plugin or token file failed
        return Unauthorized(f"cannot get credentials: {error}")
    if isinstance(error, NotReadyError):
        return Refused(str(error))
    if isinstance(error, httpx2.HTTPError | HTTPXWSException):
        detail = str(error) or type(error).__name__
        return Unreachable(detail, _server_of(error, server))
    raise TypeError(f"not an API client error: {error!r}")


# What lightkube and httpx2 raise for a request that failed; anything else is a bug.
CLIENT_ERRORS = (httpx2.HTTPError, HTTPXWSException, ConfigError, NotReadyError)


@contextmanager
def translated(server: str = "") -> Iterator[None]:
    """Raise the client's errors inside the block as campus's own."""
    try:
        yield
    except CLIENT_ERRORS as error:
        raise translate(error, server) from error
