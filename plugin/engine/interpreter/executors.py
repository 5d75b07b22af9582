"""Step kind -> executor."""

from __future__ import annotations

from plugin.engine.interpreter import flow_steps, io_steps

EXECUTORS = {
    "http": io_steps.run_http,
    "sql": io_steps.run_sql,
    "approval": io_steps.run_approval,
    "call": io_steps.run_call,
    "delay": flow_steps.run_delay,
    "branch": flow_steps.run_branch,
    "set": flow_steps.run_set,
    "parallel": flow_steps.run_parallel,
    "foreach": flow_steps.run_foreach,
    "respond": flow_steps.run_respond,
    "fail": flow_steps.run_fail,
    "succeed": flow_steps.run_succeed,
}
