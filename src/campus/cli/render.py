"""`campus render`: every environment's hardened manifests, as files or a stream."""

from __future__ import annotations

from pathlib import Path

import click

from campus.cli.options import fleet_option


def _not_a_folder(path: Path) -> Path | None:
    """The first of `path` and its parents that exists but is not a folder, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


@click.command()
@click.argument("environments", nargs=-1)
@fleet_option
@click.option(
    "-o", "--output", default="build", show_default=True, help="Folder, or - for a YAML stream."
)
@click.option("--jobs", type=int, default=None, help="Environments rendered at once.")
@click.option(
    "--offline", is_flag=True, help="Never ask the cluster for a Tutor state the cache lacks."
)
@click.option(
    "--prometheus-rules",
    is_flag=True,
    help="Add each environment's PrometheusRule, as a deploy does where the cluster serves it.",
)
def render(
    environments: tuple[str, ...],
    fleet_file: Path,
    output: str,
    jobs: int | None,
    offline: bool,
    prometheus_rules: bool,
) -> None:
    """Render environments through Tutor and harden them (all by default).

    Each renders from its Tutor state in the local cache; one the cache lacks is read from
    the fleet's cluster when it answers, else generated (a first install). The alerting
    rules are left out unless asked for: whether a cluster serves PrometheusRules is known
    only when deploying (docs/monitoring.md)."""
    from campus.output.manifests import write_environment, write_stream
    from campus.output.state import of_rendered, state_report
    from campus.pipeline import build, load

    if output != "-":
        blocking = _not_a_folder(Path(output))
        if blocking is not None:
            raise click.BadParameter(
                f"{blocking} is a file, not a folder: name a folder (created if missing), "
                "or - for a YAML stream",
                param_hint="'-o'",
            )
    builts = build(
        load(fleet_file),
        environments,
        jobs=jobs,
        offline=offline,
        prometheus_rules=prometheus_rules,
    )
    shared, each = state_report([of_rendered(b.environment.name, b.rendered) for b in builts])
    if shared is not None:
        click.echo(shared, err=True)
    for built in builts:
        name = built.environment.name
        state = f"Tutor state: {each[name]}" if each[name] else ""
        if built.rendered.toolchain:
            state += f"{'; ' if state else ''}release {built.rendered.toolchain}"
        if output == "-":
            write_stream(built.objects + built.init_jobs)
            if state:
                click.echo(f"{name}: {state}", err=True)
            continue
        directory = Path(output) / name
        try:
            write_environment(directory, built.objects, built.init_jobs)
        except OSError as error:
            raise click.ClickException(f"cannot write {directory}/: {error.strerror}") from None
        click.echo(
            f"{name}: {len(built.objects)} objects, {len(built.init_jobs)} init jobs -> "
            f"{directory}/" + (f" ({state})" if state else ""),
            err=True,
        )
