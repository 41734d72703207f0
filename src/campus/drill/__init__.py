"""Rehearsing failures on the sandbox and measuring what users would have seen."""
