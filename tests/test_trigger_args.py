"""Trigger workflow's plain arguments and body, read without webargs (``plugin.api.queries.trigger_args``): the
same values as the schemas load, or webargs decides."""

from __future__ import annotations

import itertools
import json

import pytest
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from plugin.api import PluginFlask
from plugin.api.queries.trigger_args import plain_body
from plugin.api.runs.schemas import TriggerBody
from tests.conftest import auth
from tests.runs_helpers import user

OBJECT = {"employee": "emp@example.com", "amount": 12.5, "description": "taxi \u00e9 \u4e2d \U0001f600", "n": [1, None]}
BODIES = [
    json.dumps({"input": OBJECT}).encode(),
    json.dumps({"input": OBJECT}, ensure_ascii=False).encode(),
    json.dumps({"input": {}}).encode(),
    b'{"input":{"a":1},"input":{"b":2}}',  # a repeated key: the last one, for both parsers
    b'{"input": {"a": "\\ud800"}}',  # an escaped lone surrogate: the same string for both
    '{"input": {"a": "\ud55c"}}'.encode(),  # Hangul: its UTF-8 starts with 0xED
    b'{"input": {"a": "\xed\xa0\x80"}}',  # an encoded surrogate: Flask's parser reads it, webargs' refuses it
    json.dumps({"input": OBJECT}).encode("utf-16"),
    json.dumps({"input": OBJECT}).encode("utf-16-le"),
    json.dumps({"input": OBJECT}).encode("utf-16-be"),
    json.dumps({"input": OBJECT}).encode("utf-32"),
    b"\xef\xbb\xbf" + json.dumps({"input": OBJECT}).encode(),  # a byte-order mark
    b' {"input": {"a": 1}}',
    b'{"input": {"a": 1}, "other": 2}',
    b'{"input": [1, 2]}', b'{"input": null}', b'{"input": "x"}', b'{"inputs": {}}', b"{}", b"[]", b'"x"', b"",
    b'{"input": {"a": 1}', b"not json",
]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain",
                 "application/x-www-form-urlencoded", None]


def _webargs_body() -> dict | None:
    try:
        return Blueprint.ARGUMENTS_PARSER.parse(TriggerBody, location="json")
    except HTTPException:  # flask-smorest aborts with 400 or 422
        return None


def test_a_plain_body_loads_as_webargs_loads_it():
    app = PluginFlask(__name__)
    quick = 0
    for raw, content_type in itertools.product(BODIES, CONTENT_TYPES):
        headers = {"Content-Type": content_type} if content_type else {}
        with app.test_request_context("/api/v1/queries/q/runs", method="POST", data=raw, headers=headers):
            try:
                app.json.loads(raw) if raw else None  # what input_limits does first; a body it refuses stops there
            except ValueError:
                continue
            plain = plain_body()
            if plain is not None:
                quick += 1
                assert plain == _webargs_body() and type(plain["input"]) is dict, (raw, content_type)
    assert quick >= 15, "the plain bodies took the quick way"


def test_a_plain_trigger_is_not_parsed_by_webargs(client, monkeypatch):
    parsed = []
    parse = Blueprint.ARGUMENTS_PARSER.parse
    monkeypatch.setattr(Blueprint.ARGUMENTS_PARSER, "parse", lambda *a, **k: parsed.append(a) or parse(*a, **k))
    who = user()
    for params in ("", "?wait=0"):
        answer = client.post(f"/api/v1/queries/runs_lab/runs{params}", json={"input": {"value": "hi"}},
                             headers=auth(user=who))
        assert answer.status_code == 202 and answer.json["existing"] is False
        assert set(answer.json) == {"run_id", "query", "status", "status_url", "existing"}
    assert parsed == []
    answer = client.post("/api/v1/queries/runs_lab/runs?wait=0&wait=0", json={"input": {"value": "hi"}},
                         headers=auth(user=who))
    assert answer.status_code == 202 and len(parsed) == 2  # a repeated argument: webargs reads both locations
    answer = client.post("/api/v1/queries/runs_lab/runs?other=1", json={"input": {"value": "hi"}},
                         headers=auth(user=who))
    assert answer.status_code == 422 and len(parsed) == 3  # an unknown argument: refused by webargs as before


@pytest.mark.parametrize("raw", [b'{"input": {"value": "hi"}}', b' {"input": {"value": "hi"}}'])
def test_both_ways_answer_a_trigger_alike(client, raw):
    answer = client.post("/api/v1/queries/runs_lab/runs", data=raw, content_type="application/json",
                         headers=auth(user=user()))
    assert answer.status_code == 202
    assert answer.json["query"] == "runs_lab" and answer.json["status"] == "running"
