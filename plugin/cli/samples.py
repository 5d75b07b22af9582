"""``workflows-plugin samples``: the sample apps that an installed package carries, listed or copied out.

``up`` loads them where they are when no workspace is configured; to read them, change them or start a
workspace of your own from one, copy them to a folder of yours (a wheel keeps them inside site-packages).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import click

from plugin import assets

SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def _samples() -> dict[str, Path]:
    found = {folder.name: folder for folder in assets.sample_workspaces()}
    if not found:
        raise click.ClickException("this installation carries no sample apps")
    return found


@click.group()
def samples() -> None:
    """The sample apps (workspaces with their app pages): list them, copy them to a folder."""


@samples.command("list")
def list_samples() -> None:
    """The sample apps on offer."""
    for name, folder in _samples().items():
        workspace = json.loads((folder / "workspace.json").read_text())
        click.echo(f"{name:<20} {workspace.get('name', name)}")


@samples.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("names", nargs=-1)
def copy(directory: Path, names: tuple[str, ...]) -> None:
    """Copy the sample apps (default: all; or the NAMES given) into DIRECTORY, one folder each."""
    found = _samples()
    unknown = [n for n in names if n not in found]
    if unknown:
        raise click.ClickException(f"no sample app named {', '.join(unknown)}; the samples are: {', '.join(found)}")
    chosen = names or tuple(found)
    taken = [str(directory / n) for n in chosen if (directory / n).exists()]
    if taken:
        raise click.ClickException(f"{', '.join(taken)} already exists: nothing was copied (choose another folder)")
    directory.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        shutil.copytree(found[name], directory / name, ignore=SKIP)
        click.echo(f"Copied {name} to {directory / name}")
    folders = os.pathsep.join(str((directory / n).resolve()) for n in chosen)
    click.echo(f"Use them as the workspace: WORKFLOWS_WORKSPACE={folders}")
