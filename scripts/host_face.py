"""Print a digest of the documents a host imports (``/openapi.json`` and ``/manifest.json``), or write them out.

Used to show that a change which should not touch the public contract (a move of modules, a refactor) leaves both
documents byte-identical: run it on the commit before and the commit after and compare the digests.

    python scripts/host_face.py            # one line per document: sha256 and size
    python scripts/host_face.py --out DIR  # also write both documents into DIR

Needs no running Temporal or Redis: the documents are built from the schemas, the workspace and the settings
(fixed here, so the output depends on the code alone).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from plugin import assets
from plugin.api import create_app
from plugin.config import Settings

TEST_WORKSPACES = Path(__file__).resolve().parent.parent / "tests" / "workspaces"


def documents() -> dict[str, bytes]:
    """The bytes of ``/openapi.json`` and ``/manifest.json`` as the API serves them, with fixed settings."""
    tests = (p for p in TEST_WORKSPACES.iterdir() if (p / "workspace.json").is_file())
    workspaces = tuple(sorted((*assets.sample_workspaces(), *tests)))
    settings = Settings(workspaces=workspaces, temporal_address="127.0.0.1:1", redis_url="redis://127.0.0.1:1/0",
                        admin_key="host-face-admin-key-0123456789", app_key="host-face-app-key-0123456789")
    app = create_app(settings)
    client = app.test_client()
    try:
        return {name: client.get(f"/{name}", base_url="http://127.0.0.1:8787").data
                for name in ("openapi.json", "manifest.json")}
    finally:
        app.extensions["workflows"].gateway.close()


def main() -> None:
    """Print each document's digest; with ``--out``, write the documents too."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="a folder to write the documents into")
    args = parser.parse_args()
    for name, body in documents().items():
        print(f"{name} sha256={hashlib.sha256(body).hexdigest()} bytes={len(body)}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / name).write_bytes(body)


if __name__ == "__main__":
    main()
