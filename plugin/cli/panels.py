"""``workflows-plugin panels``: list the UI panels and export one for a host's custom widget."""

from __future__ import annotations

import json

import click

from plugin.errors import Conflict, NotFound

PARTS = ("all", "html", "css", "js", "json")


def default_model(model: dict[str, dict[str, str]]) -> str:
    """The custom widget's Default Model as one binding that yields an object (``{{ {key: Query.data} }}``).

    Not JSON with a quoted binding per key: Appsmith fills a quoted ``{{ }}`` in as text, so every panel would
    get strings (and ``"undefined"`` for a query that has not run)."""
    entries = [f"{key}: {spec['binding'].strip()[2:-2].strip()}" for key, spec in model.items()
               if spec.get("binding")]
    return "{{ {" + ", ".join(entries) + "} }}" if entries else "{}"


@click.group()
def panels() -> None:
    """The UI panels (ui_panels/): list them, export one for a custom widget."""


@panels.command("list")
def list_panels() -> None:
    """The panels on offer."""
    from plugin.api.pages.panels import panel_entries  # here: every other command would load the whole API

    for entry in panel_entries():
        click.echo(f"{entry['id']:<10} {entry['title']}: {entry['description']}")


@panels.command()
@click.argument("name")
@click.option("--part", type=click.Choice(PARTS), default="all", show_default=True,
              help="Print one part only (json: everything as one JSON document).")
def export(name: str, part: str) -> None:
    """Print a panel's HTML, CSS and JS ready to paste into a custom widget, with its model keys and events."""
    try:
        from plugin.api.pages.panels import export_panel

        parts = export_panel(name)
    except (NotFound, Conflict) as exc:
        raise click.ClickException(exc.message) from None
    if part == "json":
        click.echo(json.dumps({**parts, "default_model": default_model(parts["model"])}, indent=2))
        return
    if part != "all":
        click.echo(parts[part])
        return
    for title, text in (("HTML", parts["html"]), ("CSS", parts["css"]), ("JS", parts["js"])):
        click.echo(f"===== {title} (paste into the custom widget's {title} tab) =====\n{text}\n")
    click.echo("===== Default Model: one binding (rename the queries to yours) =====")
    click.echo(default_model(parts["model"]))
    for key, spec in parts["model"].items():
        click.echo(f"  {key}: {spec['description']}")
    click.echo("\n===== Events (configure each on the widget; the context object is in scope) =====")
    for event in parts["events"] or []:
        click.echo(f"  {event['name']}({', '.join(event['context'])}) -> run {event['operationId']}: "
                   f"{event['description']}")
    if not parts["events"]:
        click.echo("  none: this panel runs standalone")
