"""A render worker that imports Tutor once and forks a child per environment.

Started once per parallel job by `campus.render.tutor` (`python -m campus.render.forkserver`):
each request (one JSON line on stdin, as `campus.render.worker` takes it) is rendered in a
child forked from this process, which has imported Tutor but never run its hooks for any
environment, so that Tutor's process-global state cannot leak from one environment to the
next, as with one process per environment, without paying Python's and Tutor's start-up
each time. One JSON line answers each request, in order.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

from campus.render import worker


def _render_in_child(line: str) -> None:
    """What `campus.render.worker` does in a process of its own, for one request line."""
    os.environ["TUTOR_ROOT"] = str(json.loads(line)["root"])
    sys.stdin = io.StringIO(line)
    worker.main()  # one JSON document, on one line (json.dump escapes every newline)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _entry_points_once() -> None:
    """Tutor looks its plugins up by entry point in every environment, and each look-up
    reads the metadata of every installed distribution again: a tenth of a child's time.
    The children look them up in the server's one reading instead (the same entry points:
    nothing is installed while campus renders)."""
    import importlib_metadata

    everything = importlib_metadata.entry_points()

    def entry_points(**selection: Any) -> Any:
        return everything.select(**selection)

    importlib_metadata.entry_points = entry_points


def serve() -> None:
    # What `render` imports, once: importing tutor.commands.cli registers template globals;
    # Crypto.IO is what every child would import again to read its JWT key (stateless).
    from Crypto.IO import PEM, PKCS8  # noqa: F401
    from tutor.commands import cli  # noqa: F401

    _entry_points_once()

    for line in sys.stdin:
        sys.stdout.flush()
        child = os.fork()
        if child == 0:
            code = 1  # unless the answer was written: the parent then writes the error
            try:
                _render_in_child(line)
                code = 0
            finally:
                os._exit(code)  # never back into the loop, never flush the parent's buffers
        _, status = os.waitpid(child, 0)
        if status != 0:
            sys.stdout.write(json.dumps({"error": f"the render process ended with {status}"}))
            sys.stdout.write("\n")
            sys.stdout.flush()


if __name__ == "__main__":
    serve()
