"""Scaling an environment through its fleet file: `campus scale` and `campus autoscale`.

The change is written into the fleet file (so the next deploy keeps it) only when every
check passes, then deployed. `rules` and `capacity` decide (pure); `cluster` reads the
cluster and hands a Deployment's count to its autoscaler; `change` puts them together.
"""
