"""Placeholder until the sandbox lands."""

from campus.cli.pending import pending_command

sandbox = pending_command("sandbox", "Run a local sandbox cluster (KWOK nodes)")
