"""Backups of each environment with restic to an S3-compatible store (docs/backups.md).

`schedule` renders the CronJob and its egress policy from an environment's hardened
objects; `store` the copy of the store's Secret a deploy makes; `jobs` the Jobs that
`campus backup` and `campus backups` start from the CronJob and what a running one waits
on; `restic` reads restic's JSON; `cadence` whether backups keep their schedule; `run`
starts, watches and reads those Jobs. All pure but `run`.
"""
