"""Custom search attributes that run-history filters use, registered idempotently at start-up."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

QUERY = SearchAttributeKey.for_keyword("WorkflowsQuery")
STARTED_BY = SearchAttributeKey.for_keyword("WorkflowsStartedBy")
APP = SearchAttributeKey.for_keyword("WorkflowsApp")
# True while a person must act (a request is pending); lets run history filter `waiting` apart from `running`.
WAITING = SearchAttributeKey.for_bool("WorkflowsWaiting")
# On a retry: the run it retries. The old run's retries are found by a visibility query on it.
RETRY_OF = SearchAttributeKey.for_keyword("WorkflowsRetryOf")

_ALL = {
    QUERY.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    STARTED_BY.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    APP.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    WAITING.name: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    RETRY_OF.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


async def register_search_attributes(client: Client) -> list[str]:
    """Add the plugin's search attributes where missing; returns the names it added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {name: kind for name, kind in _ALL.items() if name not in existing.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
