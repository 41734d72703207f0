"""campus: a fleet of Open edX environments on one Kubernetes cluster, built on Tutor."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("campus")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
