"""A render worker that imports Tutor once and forks a child per environment.

Started once per parallel job by `campus.render.tutor` (`python -m campus.render.forkserver`):
each request (one JSON line on stdin, as `campus.render.worker` takes it) is rendered in a
child forked from this process, which has imported Tutor but never run its hooks for any
environment, so that Tutor's process-global state cannot leak from one environment to the
next, as with one process per environment, without paying Python's and Tutor's start-up
each time. One JSON line answers each request, in order.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

from campus.render.worker import render


def _render_in_child(request: dict[str, object]) -> None:
    os.environ["TUTOR_ROOT"] = str(request["root"])
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter):
            result = render(request)
    except Exception as error:  # reported to the parent, which names the environment
        result = {"error": f"{type(error).__name__}: {error}", "log": chatter.getvalue()[-4000:]}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def serve() -> None:
    # What `render` imports, once: importing tutor.commands.cli registers template globals.
    from tutor.commands import cli  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        child = os.fork()
        if child == 0:
            try:
                _render_in_child(request)
            finally:
                os._exit(0)  # never back into the loop, never flush the parent's buffers
        _, status = os.waitpid(child, 0)
        if status != 0:
            sys.stdout.write(json.dumps({"error": f"the render process ended with {status}"}))
            sys.stdout.write("\n")
            sys.stdout.flush()


if __name__ == "__main__":
    serve()
