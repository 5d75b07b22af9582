"""docs/hosts/appsmith.md is the recipe the emulator runs (its tables are generated from it), names the one
identity binding that works, and sends users' browsers only to addresses a browser can reach."""

from __future__ import annotations

import re

from click.testing import CliRunner

from plugin.api.pages.panels import export_panel
from plugin.cli import main
from plugin.cli.panels import default_model
from tests.checkout import REPO_ROOT
from tests.host_guides import manifest, parse
from tests.hosts.appsmith_emulator import bindings_in, load_recipe
from tests.hosts.appsmith_guide import GUIDE, object_entries, render

WORKING = ("X-Workflows-Identity", "<<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>")


def test_the_guide_is_what_the_recipe_gives():
    text = GUIDE.read_text()
    assert render(text, load_recipe()) == text, "run: python -m tests.hosts.appsmith_guide"
    assert text.count("<!-- recipe:") == 5
    assert len(re.findall(r"^## \d+\. ", text, re.M)) == load_recipe()["newcomer"]["steps"]  # the steps it states


def test_one_identity_binding_everywhere_and_it_is_filled_on_the_server():
    headers = set(parse(GUIDE.read_text()).headers)
    assert headers == {WORKING}
    host = manifest()["hosts"]["appsmith"]
    assert host["user"]["headers"] == dict([WORKING]) and host["user"]["evaluated"] == "server"
    everywhere = [h for a in host["alternatives"] for h in a["headers"].values()]
    assert not any("idToken" in h for h in everywhere)
    assert "APPSMITH_USER_OAUTH2_ACCESS_TOKEN" in (REPO_ROOT / "docs" / "identity.md").read_text()
    assert load_recipe()["identity_header"] == dict([WORKING])


def test_every_default_model_is_one_binding_that_yields_an_object():
    for widget in load_recipe()["widgets"]:
        model = widget["default_model"]
        assert re.fullmatch(r"\{\{\s*\{.*\}\s*\}\}", model, re.S) and len(bindings_in(model)) == 1, widget["name"]
        assert dict(object_entries(model)), widget["name"]
    for panel in ("inbox", "history", "trigger"):  # what `panels export` prints
        printed = default_model(export_panel(panel)["model"])
        assert len(bindings_in(printed)) == 1 and dict(object_entries(printed)), printed


def test_the_trigger_sends_the_panels_input_and_key_and_optional_params_are_never_unset():
    queries = {q["name"]: q for q in load_recipe()["queries"]}
    trigger = queries["TriggerWorkflow"]
    assert bindings_in(trigger["body"]) == [" {input: this.params.input} "]
    assert trigger["headers"] == {"Idempotency-Key": "{{this.params.idempotency_key}}"}
    for name, value in queries["ListRuns"]["params"].items():
        assert "this.params" not in value or value.endswith("|| ''}}"), name
    assert set(queries["ListRuns"]["params"]) >= {"status", "query", "started_by", "since", "until", "cursor"}


def test_browser_urls_are_reachable_from_a_users_browser():
    text = GUIDE.read_text()
    for url in re.findall(r"https?://[^\s`)<>\"]+", text):
        if "/ui/" in url or "#" in url:
            assert not re.search(r"host\.docker\.internal|0\.0\.0\.0|127\.0\.0\.1|localhost", url), url
    assert "host.docker.internal" in load_recipe()["plugin"]["datasource_url"]  # only Appsmith's server uses it


def test_the_guide_says_which_key_goes_where():
    text = GUIDE.read_text()
    assert re.findall(r"#key=(<[^>]+>|[^&`\s]+)", text) == ["<builder key>"]  # never the datasource key in a URL
    assert "never in a URL" in text and "identity=" not in text


def test_the_binding_helper_is_not_offered_as_a_custom_widget(client):
    refused = client.get("/ui/export/binding.json")
    assert refused.status_code == 409 and refused.json["error"]["details"] == {"panel": "binding"}
    message = refused.json["error"]["message"]
    assert "not a custom widget" in message and "/ui/binding/" in message
    printed = CliRunner().invoke(main, ["panels", "export", "binding"])
    assert printed.exit_code == 1 and "not a custom widget" in printed.output
    assert client.get("/ui/export/inbox.json").status_code == 200
