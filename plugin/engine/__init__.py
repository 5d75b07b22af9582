"""The workflow engine: the base workflow with human requests (quorum, timers, reassignment), the activities,
the registry of workflows, the run-snapshot interceptor, the decision signature check, the node interpreter
(``interpreter/``) and the calls to connected systems (``calls/``). Workflow code and the activities it runs;
the worker process that hosts them is ``plugin.worker``."""
