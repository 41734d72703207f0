"""The patches campus adds to every environment's Tutor templates, after its plugins' (so
each comes last in its patch): Tutor defaults unfit for a cluster, each with its reason.
Plain data, read by the worker; only the standard library, as a toolchain's worker must.
"""

from __future__ import annotations

# Tutor's settings (common_all.py) point the `local` and `tracking` handlers at all.log and
# tracking.log in LOG_DIR, never rotated; the `console` handler gets the same records. In
# the container's writable layer the files grow until the pod is evicted for ephemeral
# storage (docs/hardening.md, "Log files"). The loggers keep naming both handlers, which
# now drop what they get: the records reach the pod's log through the console alone.
CONSOLE_ONLY_LOGGING = """# campus: log to the console only (all.log, tracking.log: never rotated)
LOGGING["handlers"]["local"] = {"class": "logging.NullHandler"}
LOGGING["handlers"]["tracking"] = {"class": "logging.NullHandler"}
"""

PATCHES: tuple[tuple[str, str], ...] = (("openedx-common-settings", CONSOLE_ONLY_LOGGING),)
