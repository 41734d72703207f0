"""The API client campus hands out: lightkube's, raising only campus's errors.

`KubeClient` is a `lightkube.Client` whose every request (get, list, watch, create,
replace, patch, apply, delete, log, exec) raises the types of `campus.kube.errors` instead
of httpx2's and lightkube's, including while a lazy list or a watch is iterated. Its
methods take the same arguments and return the same objects as lightkube's, so code typed
`Client` is unchanged; it only never sees an `ApiError`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

import httpx2
from lightkube import Client, KubeConfig, SingleConfig
from lightkube.core.exceptions import NotReadyError
from lightkube.core.generic_client import ListIterable

from campus.kube.decoding import prime_decoders
from campus.kube.errors import translated

T = TypeVar("T")
Method = TypeVar("Method", bound=Callable[..., Any])


class KubeList(ListIterable[T]):
    """The result of `list`: lazy like lightkube's (the request is made when iteration
    starts), with the errors of that request translated. `resourceVersion` may be read
    before iterating: it fetches the first page, which iteration then starts with."""

    def __init__(self, listing: ListIterable[T], server: str) -> None:
        # Not ListIterable.__init__: this wraps the one lightkube built.
        self._listing = listing
        self._server = server
        self._items = iter(listing)
        self._first: list[T] = []

    def __iter__(self) -> Iterator[T]:
        with translated(self._server):
            first, self._first = self._first, []
            yield from first
            yield from self._items

    @property
    def resourceVersion(self) -> str:  # lightkube's name
        with translated(self._server):
            try:
                return self._listing.resourceVersion
            except NotReadyError:
                self._first = list(itertools.islice(self._items, 1))
                return self._listing.resourceVersion


def _iterate(items: Iterable[T], server: str) -> Iterator[T]:
    with translated(server):
        yield from items


def _answered(value: Any, server: str) -> Any:
    return value


def _translating(method: Method, result: Callable[[Any, str], Any] = _answered) -> Method:
    """`method`, raising campus's errors; `result` wraps what it returns when that is
    iterated later (a lazy list, a watch, a log), so that iterating raises them too."""

    @functools.wraps(method)
    def call(self: KubeClient, *args: Any, **kwargs: Any) -> Any:
        with translated(self.server):
            value = method(self, *args, **kwargs)
        return result(value, self.server)

    return cast(Method, call)


class KubeClient(Client):
    """A lightkube client raising only `campus.kube.errors` types.

    `timeout` is in seconds. `transport` replaces the network (tests serve canned API
    answers through an `httpx2.MockTransport`); `fresh()` clients share it."""

    def __init__(
        self,
        config: SingleConfig | KubeConfig | None,
        *,
        timeout: float = 30,
        field_manager: str | None = None,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        prime_decoders()  # before any thread decodes: see campus.kube.decoding
        super().__init__(
            config,
            timeout=httpx2.Timeout(timeout),
            field_manager=field_manager,
            transport=transport,
        )
        self.timeout = timeout
        self.field_manager = field_manager
        self.transport = transport
        self.server: str = self.config.cluster.server

    def fresh(self, timeout: float | None = None, field_manager: str | None = None) -> KubeClient:
        """A client of its own (its own connection pool) to the same cluster."""
        return KubeClient(
            self.config,
            timeout=self.timeout if timeout is None else timeout,
            field_manager=field_manager or self.field_manager,
            transport=self.transport,
        )

    def discovery(self, group_version: str) -> dict[str, Any]:
        """The API server's discovery document of `group_version` (GROUP/VERSION): the
        resources it serves there. lightkube has no call for it; its own HTTP client
        sends the request, with the client's credentials."""
        generic = self._client
        with translated(self.server):
            response = generic.send(generic._client.build_request("GET", f"/apis/{group_version}"))
            generic.raise_for_status(response)  # type: ignore[no-untyped-call]
        document = response.json()
        return document if isinstance(document, dict) else {}

    # apply and set go through patch, wait through watch.
    get = _translating(Client.get)
    create = _translating(Client.create)
    replace = _translating(Client.replace)
    patch = _translating(Client.patch)
    delete = _translating(Client.delete)
    deletecollection = _translating(Client.deletecollection)
    exec = _translating(Client.exec)
    list = _translating(Client.list, KubeList)
    watch = _translating(Client.watch, _iterate)
    log = _translating(Client.log, _iterate)
