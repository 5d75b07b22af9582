"""Single settings a first deployment gets wrong are refused in one line naming them (plugin/config_checks.py),
and the codec endpoint answers the Temporal UI's origin, not its URL."""

from __future__ import annotations

import pytest

from plugin.api import create_app
from plugin.config import Settings
from plugin.config_checks import placeholder_secret, url_origin
from plugin.errors import ConfigError


@pytest.mark.parametrize("env, named", [
    ({"WORKFLOWS_TEMPORAL_UI_URL": "https://cloud.temporal.io/namespaces/acme.a1b2c/workflows"},
     "WORKFLOWS_TEMPORAL_UI_URL='https://cloud.temporal.io/namespaces/acme.a1b2c/workflows' must be the UI's base URL"),
    ({"WORKFLOWS_TEMPORAL_UI_URL": "cloud.temporal.io"}, "WORKFLOWS_TEMPORAL_UI_URL='cloud.temporal.io' must be"),
    ({"WORKFLOWS_SECRETS_ENCRYPTION_KEY": "short"}, "WORKFLOWS_SECRETS_ENCRYPTION_KEY is too short"),
    ({"WORKFLOWS_WORKER_SHUTDOWN_GRACE": "soon"}, "WORKFLOWS_WORKER_SHUTDOWN_GRACE='soon' is not a number"),
])
def test_a_wrong_setting_is_refused_naming_it(env, named):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.message.startswith(named) and "\n" not in caught.value.message


def test_placeholders_of_the_examples_are_found_and_real_values_are_not():
    assert "WORKFLOWS_LINK_SECRET" in placeholder_secret({"WORKFLOWS_LINK_SECRET": "change-me-link-secret-0123456789"})
    assert placeholder_secret({"WORKFLOWS_LINK_SECRET": "f" * 64, "WORKFLOWS_PAYLOAD_KEYS": "k1:" + "A" * 43 + "="}) \
        is None


def test_the_codec_endpoint_answers_the_ui_origin_of_a_ui_served_under_a_path(settings):
    assert url_origin("https://Temporal.example.com:8443/ui/") == "https://temporal.example.com:8443"
    app = create_app(settings.with_overrides(temporal_ui_url="https://temporal.example.com/ui"))
    try:
        answer = app.test_client().options("/api/v1/codec/decode", headers={
            "Origin": "https://temporal.example.com", "Access-Control-Request-Method": "POST"})
        assert answer.headers.get("Access-Control-Allow-Origin") == "https://temporal.example.com"
    finally:
        app.extensions["workflows"].gateway.close()
