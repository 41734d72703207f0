"""How every command that deploys (deploy, rollback, scale, autoscale) shows it: live
progress while it runs, then the summary and each failure with advice; exit 1 on failure."""

from __future__ import annotations

import sys
from collections.abc import Callable

from campus.deploy.model import DeployResult, Progress
from campus.output.progress import LiveProgress
from campus.output.tables import print_deploy_results


def show_deploy(title: str, run: Callable[[Progress], list[DeployResult]]) -> None:
    with LiveProgress(title) as progress:
        results = run(progress)
    if not print_deploy_results(results):
        sys.exit(1)
