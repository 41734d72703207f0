"""Labels and annotations campus puts on what it manages; read by harden, deploy, status."""

MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
ENVIRONMENT = "campus.openedx.org/environment"
# Objects whose loss loses data: never pruned, and destroyed only on request.
DATA = "campus.openedx.org/data"
PRUNE = "campus.openedx.org/prune"
# Why a rule was deliberately not applied to an object, for the linter and the reader.
EXEMPT_PREFIX = "campus.openedx.org/exempt-"
