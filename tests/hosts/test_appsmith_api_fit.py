"""What the API must accept because of how Appsmith sends a REST query: every declared parameter, empty when its
binding has no value (Appsmith cannot leave a parameter out), so an empty value means "not given"."""

from __future__ import annotations

from tests.conftest import auth


def test_empty_list_runs_params_mean_absent(client):
    empty = client.get("/api/v1/runs?status=&cursor=&query=&started_by=&since=&until=&limit=5",
                       headers=auth(user="ann@example.com"))
    assert empty.status_code == 200, empty.json
    assert set(empty.json) == {"runs", "next_cursor"}


def test_empty_get_requests_params_mean_absent(client):
    empty = client.get("/api/v1/requests?status=pending&cursor=&name=&limit=50", headers=auth(user="ann@example.com"))
    assert empty.status_code == 200, empty.json


def test_a_wrong_value_is_still_refused(client):
    wrong = client.get("/api/v1/runs?status=sleeping&cursor=", headers=auth(user="ann@example.com"))
    assert wrong.status_code == 422
    assert "status" in wrong.json["error"]["details"]["fields"], wrong.json
