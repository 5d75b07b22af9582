"""The http_request activity and its SSRF guard, called directly: third-party HTTP stubbed with
`responses`, DNS answered by a stand-in resolver, loopback served by a real stub server."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
import requests
import responses
from temporalio.exceptions import ApplicationError

from plugin.engine.calls import http_types as t
from plugin.engine.calls.http_activity import HttpActivities
from plugin.engine.calls.net_guard import forbidden_reason
from tests.fixtures_nodes import StubServer

PUBLIC = "93.184.216.34"


def dns(table: dict[str, list[str]]):
    return lambda host, port: table[host]


def activity(**kwargs) -> HttpActivities:
    return HttpActivities(resolver=dns({"api.example.com": [PUBLIC], "inside.example.com": ["10.0.0.7"],
                                        "mixed.example.com": [PUBLIC, "127.0.0.1"]}), **kwargs)


def call(url: str, **kwargs) -> t.HttpCall:
    return t.HttpCall(method=kwargs.pop("method", "GET"), url=url, **kwargs)


@responses.activate
def test_json_request_and_answer():
    responses.post("https://api.example.com/items", json={"id": 7}, status=201,
                   match=[responses.matchers.json_params_matcher({"name": "x"}),
                          responses.matchers.query_param_matcher({"dry": "1"}),
                          responses.matchers.header_matcher({"X-Key": "k"})])
    answer = activity().http_request(call("https://api.example.com/items", method="POST", body={"name": "x"},
                                          has_body=True, query={"dry": "1"}, headers={"X-Key": "k"}))
    assert answer.status == 201 and answer.body == {"id": 7}
    assert answer.headers["content-type"] == "application/json" and answer.attempts == 1


@responses.activate
def test_text_answer_and_accepted_error_status():
    responses.get("https://api.example.com/gone", body="not here", status=404)
    answer = activity().http_request(call("https://api.example.com/gone", accept_status=[404]))
    assert answer.status == 404 and answer.body == "not here"


@responses.activate
def test_retryable_status_raises_a_retryable_error_honouring_retry_after():
    responses.get("https://api.example.com/busy", json={"busy": True}, status=503, headers={"Retry-After": "7"})
    with pytest.raises(ApplicationError) as caught:
        activity().http_request(call("https://api.example.com/busy", retry_on_status=[503], max_attempts=3))
    assert caught.value.type == t.HTTP_STATUS_RETRYABLE and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert caught.value.details[0]["status"] == 503


@responses.activate
def test_other_error_status_is_not_retried():
    responses.get("https://api.example.com/bad", json={"error": "bad"}, status=400)
    with pytest.raises(ApplicationError) as caught:
        activity().http_request(call("https://api.example.com/bad", retry_on_status=[503]))
    assert caught.value.type == t.HTTP_STATUS and caught.value.non_retryable
    assert "answered 400" in caught.value.message and caught.value.details[0]["body"] == {"error": "bad"}


@responses.activate
def test_connection_failure_is_retryable():
    responses.get("https://api.example.com/down", body=requests.ConnectionError("refused"))
    with pytest.raises(ApplicationError) as caught:
        activity().http_request(call("https://api.example.com/down"))
    assert caught.value.type == t.CONNECTION_FAILED and not caught.value.non_retryable


@responses.activate
def test_an_answer_over_the_limit_is_refused():
    responses.get("https://api.example.com/big", body="x" * 2048)
    with pytest.raises(ApplicationError) as caught:
        activity(max_response_bytes=1024).http_request(call("https://api.example.com/big"))
    assert caught.value.type == t.RESPONSE_TOO_LARGE and caught.value.non_retryable


@pytest.mark.parametrize("url", ["ftp://api.example.com/x", "http:///nohost", "api.example.com/x"])
def test_urls_that_are_not_http_are_refused(url):
    with pytest.raises(ApplicationError) as caught:
        activity().http_request(call(url))
    assert caught.value.type == t.INVALID_HTTP_REQUEST and caught.value.non_retryable


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1.2.3:8080/", "http://localhost/", "http://10.0.0.1/", "http://172.16.5.4/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.100.100.200/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://224.0.0.1/", "http://inside.example.com/", "http://mixed.example.com/",
])
@responses.activate
def test_addresses_inside_the_network_are_refused(url):
    responses.get(url, body="must never be reached")
    guarded = HttpActivities(resolver=dns({"localhost": ["127.0.0.1"], "inside.example.com": ["10.0.0.7"],
                                           "mixed.example.com": [PUBLIC, "127.0.0.1"]}))
    with pytest.raises(ApplicationError) as caught:
        guarded.http_request(call(url))
    assert caught.value.type == t.FORBIDDEN_ADDRESS and caught.value.non_retryable
    assert "WORKFLOWS_HTTP_ALLOW_HOSTS" in caught.value.message
    assert not responses.calls


@pytest.mark.parametrize(("address", "reason"), [
    ("8.8.8.8", None), ("2606:4700::1111", None), ("169.254.169.254", "cloud metadata service"),
    ("fd00:ec2::254", "cloud metadata service"), ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),
    ("100.64.0.1", "not a public address"), ("240.0.0.1", "private"),
])
def test_forbidden_reason(address, reason):
    found = forbidden_reason(ipaddress.ip_address(address))
    assert (found is None) if reason is None else (reason in found)


@pytest.fixture
def loopback():
    server = StubServer()
    yield server
    server.close()


def test_allow_listed_loopback_host_and_port_is_called(loopback):
    loopback.route("/ok", (200, {"fine": True}))
    host = loopback.url.removeprefix("http://")
    answer = HttpActivities(allow_hosts=[host]).http_request(call(loopback.url + "/ok"))
    assert answer.body == {"fine": True}
    other_port = HttpActivities(allow_hosts=["127.0.0.1:1"])
    with pytest.raises(ApplicationError) as caught:
        other_port.http_request(call(loopback.url + "/ok"))
    assert caught.value.type == t.FORBIDDEN_ADDRESS


def test_dns_rebinding_between_check_and_connect_is_refused(loopback):
    # First answer public (the early check passes), then loopback: the connection checks again.
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    rebinding = HttpActivities(resolver=lambda host, port: next(answers))
    port = loopback.url.rsplit(":", 1)[1]
    loopback.route("/secret", (200, {"secret": True}))
    with pytest.raises(ApplicationError) as caught:
        rebinding.http_request(call(f"http://rebind.example:{port}/secret"))
    assert caught.value.type == t.FORBIDDEN_ADDRESS
    assert not loopback.hits("/secret")


def test_redirect_to_a_forbidden_address_is_refused(loopback):
    host = loopback.url.removeprefix("http://")
    loopback.route("/hop", (302, {"location": "http://127.0.0.2:9/inside"}))
    with pytest.raises(ApplicationError) as caught:
        HttpActivities(allow_hosts=[host]).http_request(call(loopback.url + "/hop"))
    assert caught.value.type == t.FORBIDDEN_ADDRESS and "127.0.0.2" in caught.value.message
