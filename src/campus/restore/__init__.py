"""`campus restore`: a snapshot of an environment's backups put back into it, or into
another environment (docs/backups.md, "Restore"). `plan` and `jobs` are pure; `run`
drives the cluster."""
