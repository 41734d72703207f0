"""`campus access`: the fleet's identities and their RBAC, and kubeconfigs for them."""

from __future__ import annotations

from pathlib import Path

import click

from campus.cli.options import fleet_option, kubeconfig_option


@click.group()
def access() -> None:
    """Least-privilege identities: a deployer, and per client an operator and a reader."""


@access.command(name="render")
@fleet_option
def render_access(fleet_file: Path) -> None:
    """Print the RBAC objects `campus access apply` applies, as YAML."""
    from campus.access.model import rbac_objects
    from campus.output.manifests import write_stream
    from campus.pipeline import load

    write_stream(rbac_objects(load(fleet_file)))


@access.command(name="apply")
@fleet_option
@kubeconfig_option
def apply_(fleet_file: Path, kubeconfig: str | None) -> None:
    """Apply the identities and their RBAC (needs a cluster administrator's credentials)."""
    from campus.access.grant import apply_access
    from campus.access.model import identities
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    applied = apply_access(client, fleet)
    click.echo(f"applied {len(applied)} objects")
    for identity in identities(fleet):
        click.echo(f"  {identity.name}: {identity.role} in {', '.join(identity.namespaces)}")


@access.command(name="kubeconfig")
@click.argument("name")
@fleet_option
@kubeconfig_option
@click.option("-o", "--output", default="-", show_default=True, help="File, or - for stdout.")
@click.option("--expires", default=3600, show_default=True, help="Seconds until the token expires.")
def kubeconfig_(
    name: str, fleet_file: Path, kubeconfig: str | None, output: str, expires: int
) -> None:
    """Write a kubeconfig for identity NAME, with a token that expires."""
    from campus.access.grant import kubeconfig_for_identity
    from campus.output.manifests import write_private_document
    from campus.pipeline import connect_fleet

    fleet, client = connect_fleet(fleet_file, kubeconfig)
    config, expiry = kubeconfig_for_identity(client, fleet, name, expires)
    write_private_document(config, None if output == "-" else Path(output))
    click.echo(f"kubeconfig for {name}, token expires {expiry}", err=True)
