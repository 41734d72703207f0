"""Rendering: each environment through Tutor, in isolation, into Kubernetes objects.

`render_fleet` and `render_environment` are imported on first use: the render worker and
fork server (`campus.render.worker`, `forkserver`) import this package too, and must not
pay for the fleet model's imports (pydantic, lightkube) in every process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from campus.render.tutor import render_environment, render_fleet

__all__ = ["render_environment", "render_fleet"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from campus.render import tutor

        return getattr(tutor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
