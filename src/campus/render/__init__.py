"""Rendering: each environment through Tutor, in isolation, into Kubernetes objects."""

from campus.render.tutor import render_environment, render_fleet

__all__ = ["render_environment", "render_fleet"]
