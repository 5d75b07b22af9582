"""SLA policies as data: business calendars, business-time arithmetic, and applying a named policy to a request.

Pure and deterministic (workflow code calls it from ``workflow.now()``): no clock, no I/O beyond the time zone
rules ``zoneinfo`` reads once per zone. The workspace declares calendars and policies (plugin/workspace/sla.py
checks them with these same parsers); each run pins them in ``RunInput.sla``.
"""
