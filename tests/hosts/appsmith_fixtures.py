"""Fixtures for the Appsmith recipe tests: a local IdP, the app key the recipe configures (OIDC identity plus the
Appsmith signature), Appsmith's server side, and signed-in users who open the recipe's page."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hosts.appsmith_emulator import AppsmithPage, AppsmithServer, AppsmithUser, load_recipe
from tests.identity_helpers import LocalIdp, create_key

__all__ = ["idp", "appsmith_server", "open_appsmith"]
SHOTS = os.environ.get("APPSMITH_SCREENSHOTS")  # a folder: the recipe tests save the emulated page there


def snap(page: AppsmithPage, name: str) -> None:
    """Save the whole emulated Appsmith page as ``<name>.png`` when APPSMITH_SCREENSHOTS names a folder."""
    if SHOTS:
        page.page.wait_for_timeout(600)  # let Auto Height settle
        height = page.page.evaluate("document.documentElement.scrollHeight")
        page.page.set_viewport_size({"width": 1200, "height": height})  # sandboxed frames off screen paint blank
        page.page.wait_for_timeout(600)
        page.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
        page.page.set_viewport_size({"width": 1200, "height": 1000})


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdp]:
    provider = LocalIdp()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def appsmith_server(app, base_url: str, idp: LocalIdp) -> AppsmithServer:
    """The recipe's key (as its ``key`` section says: OIDC identity, a signature secret) and Appsmith's server."""
    recipe = load_recipe()
    secret = secrets.token_urlsafe(40)
    key = create_key(app.test_client(), name=recipe["key"]["name"], scope=recipe["key"]["scope"],
                     identity={"schemes": recipe["key"]["identity"]["schemes"], "oidc": idp.oidc_config()},
                     signature_secret=secret)["secret"]
    return AppsmithServer(recipe, base_url, key, secret)


@pytest.fixture
def open_appsmith(browser, appsmith_server: AppsmithServer, idp: LocalIdp) -> Iterator[Callable[..., AppsmithPage]]:
    """open_appsmith(email, groups) -> the recipe's page, deployed, as that signed-in user."""
    pages: list[AppsmithPage] = []

    def open_it(email: str, groups: list[str] | None = None, **kwargs) -> AppsmithPage:
        claims = idp.claims(email, groups or [], lifetime=900)
        user = AppsmithUser(email, idp.keys[0].sign(claims), claims)
        pages.append(AppsmithPage(browser, appsmith_server, user, **kwargs))
        return pages[-1]

    yield open_it
    errors = [e for p in pages for e in p.errors]
    for page in pages:
        page.close()
    assert not errors, f"script errors on the emulated Appsmith page: {errors}"
