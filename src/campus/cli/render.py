"""Placeholder until rendering lands."""

from campus.cli.pending import pending_command

render = pending_command("render", "Render every environment's hardened manifests")
