"""Placeholder until linting lands."""

from campus.cli.pending import pending_command

lint = pending_command("lint", "Check rendered manifests against campus's rules")
