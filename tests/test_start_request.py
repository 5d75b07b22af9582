"""The API starts runs with a StartWorkflowExecution request it builds itself (``start_run``, one JSON encoding per
payload): that request must be the one the SDK's ``client.start_workflow`` sends for the same run, so that the
worker, the run history filters and payload encryption see no difference. Both go to the real Temporal server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from datetime import timedelta

import pytest
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from plugin import search_attributes as sa
from plugin.codec import AesGcmCodec, codec_for
from plugin.config import Settings
from plugin.engine.models import RunInput
from plugin.gateway_ops import runs as run_ops
from plugin.temporal_gateway import connect_client

KEY = "k1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def sdk_start(client: Client, spec: run_ops.StartSpec, run_id: str):
    pairs = [SearchAttributePair(sa.QUERY, spec.inp.query), SearchAttributePair(sa.STARTED_BY, spec.inp.started_by),
             SearchAttributePair(sa.APP, spec.inp.app), SearchAttributePair(sa.WAITING, False)]
    if spec.retry_of:
        pairs.append(SearchAttributePair(sa.RETRY_OF, spec.retry_of))
    reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE if spec.unique_id else WorkflowIDReusePolicy.ALLOW_DUPLICATE
    return client.start_workflow(spec.workflow, spec.inp, id=run_id, task_queue=spec.task_queue,
                                 search_attributes=TypedSearchAttributes(pairs), memo={"input": spec.inp.data,
                                                                                       **spec.memo},
                                 id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, id_reuse_policy=reuse,
                                 execution_timeout=spec.execution_timeout)


def recorded(client: Client) -> list[StartWorkflowExecutionRequest]:
    """Record every StartWorkflowExecution request the client sends (and still send it)."""
    sent: list[StartWorkflowExecutionRequest] = []
    service = client.workflow_service
    real = service.start_workflow_execution

    async def record(req, *args, **kwargs):
        sent.append(StartWorkflowExecutionRequest.FromString(req.SerializeToString()))
        return await real(req, *args, **kwargs)
    service.start_workflow_execution = record  # type: ignore[method-assign]
    return sent


def comparable(req: StartWorkflowExecutionRequest, codec: AesGcmCodec | None) -> StartWorkflowExecutionRequest:
    """The request without what differs by design (its id, the request id); encrypted payloads decrypted
    (each encryption has its own nonce)."""
    copy = StartWorkflowExecutionRequest.FromString(req.SerializeToString())
    copy.workflow_id, copy.request_id = "", ""
    copy.ClearField("priority")  # the SDK sends an empty priority message: the server's default either way
    if codec is not None:
        for i, p in enumerate(copy.input.payloads):
            copy.input.payloads[i].CopyFrom(codec.decrypt(p))
        for name in copy.memo.fields:
            copy.memo.fields[name].CopyFrom(codec.decrypt(copy.memo.fields[name]))
    return copy


@pytest.mark.parametrize("keys", [(), (KEY,)], ids=["plain", "encrypted"])
@pytest.mark.parametrize("variant", ["trigger", "keyed retry with a timeout"])
def test_the_direct_start_sends_what_the_sdk_sends(settings: Settings, worker, keys: tuple[str, ...], variant: str):
    settings = dataclasses.replace(settings, payload_keys=keys)
    codec = codec_for(keys)
    inp = RunInput(data={"employee": "ann@example.com", "amount": 640, "tags": ["a", "b"], "note": "ü \"q\""},
                   query="submit_expense", started_by="ann@example.com", app="Expenses",
                   request_defaults={"due_in_seconds": 60})
    extra = {} if variant == "trigger" else {
        "unique_id": True, "execution_timeout": timedelta(seconds=90), "retry_of": "submit_expense-old"}
    spec = run_ops.StartSpec(workflow="no_such_workflow_type", run_id="unused", task_queue=f"nobody-{uuid.uuid4().hex}",
                             inp=inp, memo={"fingerprint": "f" * 64, "idempotency": "i" * 64}, **extra)

    async def both() -> tuple[list[StartWorkflowExecutionRequest], list[run_ops.StartResult]]:
        client = await connect_client(settings)
        assert run_ops._plain_converter(client)
        sent = recorded(client)
        ours = f"start-request-{uuid.uuid4().hex}"
        result = await run_ops.start_run(client, dataclasses.replace(spec, run_id=ours))
        again = await run_ops.start_run(client, dataclasses.replace(spec, run_id=ours))  # the same id: that run
        await sdk_start(client, spec, f"start-request-{uuid.uuid4().hex}")
        for run_id in (ours, sent[-1].workflow_id):
            await client.get_workflow_handle(run_id).terminate("test over")
        return sent, [result, again]

    sent, (result, again) = asyncio.run(both())
    assert result.started and result.temporal_run_id and not again.started
    assert again.temporal_run_id == result.temporal_run_id
    assert comparable(sent[0], codec) == comparable(sent[-1], codec)
    if codec is not None:
        assert b"ann@example.com" not in sent[0].input.payloads[0].data
        assert all(b"640" not in f.data for f in sent[0].memo.fields.values())


def test_an_ended_unique_run_is_the_answer_not_a_new_run(settings: Settings, worker):
    inp = RunInput(data={"x": 1}, query="q", started_by="ann@example.com")
    spec = run_ops.StartSpec(workflow="no_such_workflow_type", run_id=f"start-request-{uuid.uuid4().hex}",
                             task_queue=f"nobody-{uuid.uuid4().hex}", inp=inp, unique_id=True)

    async def go() -> run_ops.StartResult:
        client = await connect_client(settings)
        first = await run_ops.start_run(client, spec)
        assert first.started
        await client.get_workflow_handle(spec.run_id).terminate("ended")
        return await run_ops.start_run(client, spec)

    assert asyncio.run(go()) == run_ops.StartResult(run_id=spec.run_id, started=False, ended=True)
