"""campus: a fleet of Open edX environments on one Kubernetes cluster, built on Tutor."""

from importlib.metadata import PackageNotFoundError, packages_distributions, version

# The distribution is published as `openedx-campus` (the name `campus` is taken on PyPI);
# the package and the command stay `campus`.
DISTRIBUTION = "openedx-campus"


def _installed_version() -> str:
    """The installed distribution's version; an install made before the rename (under the
    old name) still reports its own, and a bare source tree reads 0.0.0."""
    for name in (DISTRIBUTION, __name__):  # the name, then the name before the rename
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    # Reading every installed distribution's file list is slow: only when the names fail.
    for name in packages_distributions().get(__name__, ()):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "0.0.0"


__version__ = _installed_version()
