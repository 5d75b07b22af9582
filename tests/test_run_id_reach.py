"""Every run a trigger starts can be reached by its id: a business key whose input would put ``/`` in the id
(or make it ``.`` / ``..``) is refused before anything starts (422 naming the field), because neither the raw
``/`` nor ``%2F`` (decoded before routing) reaches ``/api/v1/runs/{run_id}``."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from temporalio.service import RPCError, RPCStatusCode

from plugin.api.queries.triggering import business_key
from plugin.errors import ValidationFailed
from plugin.temporal_gateway import connect_client
from tests.conftest import ADMIN_KEY, auth
from tests.runs_helpers import error_of, get_run, user


def temporal_has(settings, workflow_id: str) -> bool:
    async def describe() -> bool:
        try:
            await (await connect_client(settings)).get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND
            return False
        return True
    return asyncio.run(describe())


def onboard(client, email: str):
    return client.post("/api/v1/queries/onboard_employee/runs", headers=auth(user=user()), json={"input": {
        "name": "Slash", "email": email, "role": "support", "manager": "m@example.com", "start_date": "2027-01-04"}})


def test_a_business_key_with_a_slash_is_refused_naming_the_field_and_starts_nothing(client, settings):
    email = f"x/{uuid.uuid4().hex[:6]}@example.com"
    answer = onboard(client, email)
    assert answer.status_code == 422, answer.json
    error = error_of(answer)
    assert set(error["details"]["fields"]) == {"input.email"} and "'/'" in error["message"]
    assert not temporal_has(settings, f"onboarding-{email}"), "no unreachable run was started"
    for path in (f"onboarding-{email}", quote(f"onboarding-{email}", safe="")):  # raw, and with %2F
        for suffix in ("", "/steps"):
            read = client.get(f"/api/v1/runs/{path}{suffix}", headers=auth(ADMIN_KEY))
            assert read.status_code == 404 and error_of(read)["code"] == "not_found", (path, suffix)


@pytest.mark.parametrize("order", ["a/b", "/", "x/"])
def test_keys_with_a_slash_are_refused(client, order):
    answer = client.post("/api/v1/queries/runs_lab_keyed/runs", headers=auth(user=user()),
                         json={"input": {"order": order}})
    assert answer.status_code == 422 and set(error_of(answer)["details"]["fields"]) == {"input.order"}


@pytest.mark.parametrize("order", [".", ".."])
def test_a_key_that_would_be_the_whole_id_may_not_be_a_dot_segment(order):
    bare = SimpleNamespace(run_id_template="{order}")
    with pytest.raises(ValidationFailed) as refused:
        business_key(bare, {"order": order})
    assert set(refused.value.details["fields"]) == {"input.order"}
    assert business_key(bare, {"order": f"{order}x"}) == f"{order}x"


def test_a_business_key_with_other_url_characters_stays_reachable_encoded(client):
    order = f"q?#%&+ {uuid.uuid4().hex[:6]}"
    run_id = client.post("/api/v1/queries/runs_lab_keyed/runs", headers=auth(user=user()),
                         json={"input": {"order": order}}).json["run_id"]
    assert order in run_id
    assert get_run(client, quote(run_id, safe=""))["id"] == run_id
    steps = client.get(f"/api/v1/runs/{quote(run_id, safe='')}/steps", headers=auth(ADMIN_KEY))
    assert steps.status_code == 200, steps.json
