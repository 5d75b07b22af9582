"""Analytics: SLA figures over human requests (opened, decided, expired, time to decision, due-time share,
overdue now), per query, assignee or group, read from the inbox read model."""
