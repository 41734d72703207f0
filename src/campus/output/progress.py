"""Live progress of long operations: what each environment is doing and waiting on."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table


class LiveProgress:
    """A table redrawn in place on a terminal; elsewhere one line per change, so CI logs
    stay readable (no spinners, no repeated lines)."""

    def __init__(self, title: str, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.title = title
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream)
        self.live_mode = self.console.is_terminal if live is None else live
        self._state: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._started = time.monotonic()

    def __enter__(self) -> LiveProgress:
        if self.live_mode:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(kind, error, trace)

    def update(self, environment: str, phase: str, message: str) -> None:
        with self._lock:
            previous = self._state.get(environment)
            if previous and previous[:2] == (phase, message):
                return
            since = previous[2] if previous and previous[0] == phase else time.monotonic()
            self._state[environment] = (phase, message, since)
            if self._live is not None:
                self._live.update(self._table())
            else:
                elapsed = time.monotonic() - self._started
                print(f"[{elapsed:6.1f}s] {environment}: {phase}: {message}", file=self.stream)

    def _table(self) -> Table:
        table = Table(title=self.title, expand=False)
        table.add_column("ENVIRONMENT", style="bold")
        table.add_column("PHASE")
        table.add_column("FOR", justify="right")
        table.add_column("WAITING ON / DOING", overflow="fold")
        now = time.monotonic()
        for environment, (phase, message, since) in sorted(self._state.items()):
            table.add_row(environment, phase, f"{now - since:.0f}s", message)
        return table


class QuietProgress:
    """For callers that only want the result (tests, --quiet)."""

    def update(self, environment: str, phase: str, message: str) -> None:
        pass
