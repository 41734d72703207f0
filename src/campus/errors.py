"""Errors campus reports to the user: each carries enough context to act on."""

from __future__ import annotations


class CampusError(Exception):
    """An error with a message meant for the operator, printed without a traceback."""


class ClusterError(CampusError):
    """The API server could not be reached, refused the credentials, or refused an action."""
