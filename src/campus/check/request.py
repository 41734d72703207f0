"""Sending `campus check`'s requests: one GET each, no redirect followed, timed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx2 as httpx

from campus.check.targets import Target

# How the sandbox's Open edX stand-in (`campus.sandbox.images`) starts every answer.
STANDIN_MARK = b'{"standin": true'


@dataclass(frozen=True)
class Answer:
    target: Target
    status: int | None  # None: no HTTP answer at all
    seconds: float
    error: str = ""
    standin: bool = False  # answered by the sandbox's stand-in, not the real image

    @property
    def ok(self) -> bool:
        # A redirect is an answer a browser follows (to the login page, to HTTPS).
        return self.status is not None and self.status < 400


def ask(target: Target, timeout: float) -> Answer:
    headers = {"Host": target.host} if target.host else {}
    started = time.monotonic()
    try:
        response = httpx.get(target.url, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        return Answer(target, None, time.monotonic() - started, f"{type(error).__name__}: {error}")
    seconds = time.monotonic() - started
    standin = STANDIN_MARK in response.content[:256]
    return Answer(target, response.status_code, seconds, standin=standin)


def ask_all(targets: list[Target], timeout: float = 5.0) -> list[Answer]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda target: ask(target, timeout), targets))
