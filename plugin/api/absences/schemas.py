"""Schemas of the absences API: the body of PUT and the absence as answered."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from plugin.api.schemas import StrictSchema


class AbsenceBody(StrictSchema):
    """An absence to set: from when (inclusive) to when (exclusive), who decides meanwhile, and optionally only
    for some queries."""

    starts = fields.AwareDateTime(required=True, data_key="from", metadata={
        "description": "When the absence begins: ISO 8601 with a time-zone offset, e.g. 2026-12-21T08:00:00+01:00"})
    ends = fields.AwareDateTime(required=True, data_key="to", metadata={
        "description": "When it ends (exclusive): ISO 8601 with a time-zone offset; after `from`, not in the past"})
    delegate = fields.Email(required=True, validate=validate.Length(max=254), metadata={
        "description": "Who is offered the absent person's requests meanwhile (an email); not the absent person, "
                       "not someone away themselves in that period"})
    queries = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                          validate=validate.Length(max=100), metadata={
                              "description": "Only requests of these queries go to the delegate; empty: all"})
    note = fields.String(load_default="", validate=validate.Length(max=500),
                         metadata={"description": "A note for colleagues (e.g. 'back on Monday')"})


class AbsenceSchema(Schema):
    """A person's absence."""

    user = fields.String(metadata={"description": "The absent person"})
    starts = fields.String(data_key="from", allow_none=True, metadata={"description": "null: no absence is set"})
    ends = fields.String(data_key="to", allow_none=True)
    delegate = fields.String(allow_none=True)
    queries = fields.List(fields.String())
    note = fields.String()
    set_by = fields.String(allow_none=True, metadata={"description": "Who set it (the person, or an admin)"})
    set_at = fields.String(allow_none=True)
    active = fields.Boolean(metadata={"description": "True while it lasts (from <= now < to)"})


class AbsenceListSchema(Schema):
    """The absences stored now: current, coming, and those ended in the last week."""

    absences = fields.List(fields.Nested(AbsenceSchema))
