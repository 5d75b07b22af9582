"""``workflows-plugin keys``: create, list and revoke API keys in the configured Redis, from a shell.

This is how ``serve`` gets its first admin key (the keys API itself needs one): run it once with the same
``WORKFLOWS_REDIS_URL`` as the API, e.g. ``kubectl exec deploy/workflows-api -- workflows-plugin keys create
--scope admin --name ops``. The secret is printed alone on stdout (once; Redis keeps only its hash), the rest on
stderr, so ``KEY=$(workflows-plugin keys create ...)`` captures just the key."""

from __future__ import annotations

import click

from plugin.errors import ConfigError, ValidationFailed


def _store():
    """The key store and audit log of the configured Redis (one line and exit 1 when it does not answer)."""
    from plugin.cli.startup_checks import check_redis
    from plugin.config import Settings
    from plugin.store.admin.keys import KeyStore
    from plugin.store.admin.settings_audit import SettingsAudit

    try:
        settings = Settings.from_env()
        client = check_redis(settings)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    return settings, KeyStore(settings, client), SettingsAudit(client)


@click.group()
def keys() -> None:
    """API keys in the configured Redis: create (the first admin key), list, revoke."""


@keys.command("create")
@click.option("--scope", type=click.Choice(["admin", "app"]), required=True, help="admin: everything; app: a host")
@click.option("--name", required=True, help="who or what uses the key, e.g. ops or appsmith-prod")
@click.option("--identity", "schemes", default=None,
              help="app keys: identity sources, comma-separated (oidc, proxy, headers); "
                   "default WORKFLOWS_APP_KEY_IDENTITY")
def create(scope: str, name: str, schemes: str | None) -> None:
    """Make a key and print its secret (shown this once)."""
    from plugin.identity.capabilities import default_capabilities
    from plugin.identity.config import KeyIdentity, key_identity

    settings, store, audit = _store()
    try:
        if schemes:
            identity = key_identity({"schemes": [s.strip() for s in schemes.split(",") if s.strip()]},
                                    store.default_oidc)
        else:
            identity = settings.identity.app_key if scope == "app" else KeyIdentity()
    except ValidationFailed as exc:
        reasons = "; ".join(" ".join(v) for v in exc.details.get("fields", {}).values()) or exc.message
        raise click.ClickException(f"--identity: {reasons}") from None
    stored = identity.to_dict(with_secret=True)
    if identity.oidc is not None and identity.oidc == store.default_oidc:
        stored["oidc"] = None  # as the keys API stores it: the key follows later changes of the OIDC defaults
    # what the keys API grants a key that does not list its capabilities: all its scope and identity allow
    record, secret = store.create(name, scope, stored, "cli",
                                  capabilities=default_capabilities(scope, identity))
    audit.record("cli", "key_created", f"key:{record['id']}", {"name": name, "scope": scope})
    click.echo(f"Created {scope} key {record['id']} ({name}); its secret, shown this once:", err=True)
    click.echo(secret)


@keys.command("list")
def list_keys() -> None:
    """Every stored key (never a secret): id, scope, name, prefix, created, last used."""
    _, store, _ = _store()
    records = store.all()
    for record in records:
        click.echo(f"{record['id']}  {record['scope']:<7} {record['name']:<24} {record.get('prefix') or '':<14} "
                   f"created {record.get('created_at') or '-'}  last used {record.get('last_used_at') or 'never'}")
    if not records:
        click.echo("No stored keys (make one: workflows-plugin keys create --scope admin --name ops)", err=True)


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Remove a key: every API process refuses it at once."""
    _, store, audit = _store()
    record = store.revoke(key_id)
    if record is None:
        raise click.ClickException(f"No stored key {key_id!r} (workflows-plugin keys list shows them)")
    audit.record("cli", "key_revoked", f"key:{key_id}", {})
    click.echo(f"Revoked {record['scope']} key {key_id} ({record['name']})")
