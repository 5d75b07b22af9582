"""The alert rules in deploy/monitoring behave as docs/production.md says: promtool's unit tests
(deploy/monitoring/alerts.test.yml) give every alert a case where it fires and one where it stays quiet, in the
units the worker exports (seconds)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.checkout import REPO_ROOT

MONITORING = REPO_ROOT / "deploy" / "monitoring"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package `prometheus`; .ci/run installs it)")


def alerts() -> set[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return {r["alert"] for group in rules["groups"] for r in group["rules"]}


def checks() -> list[dict]:
    return [check for case in yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
            for check in case["alert_rule_test"]]


@needs_promtool
def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_stays_quiet():
    firing = {c["alertname"] for c in checks() if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in checks() if not c.get("exp_alerts")}
    assert firing == alerts() and quiet == alerts(), (alerts() - firing, alerts() - quiet)


def test_durations_are_in_seconds_everywhere():
    """The worker exports durations in seconds (plugin/worker.py), so every duration histogram that the
    rules and dashboard read is named ..._seconds and the dashboard shows it with the unit "s"."""
    worker = (REPO_ROOT / "plugin/worker.py").read_text()
    assert "durations_as_seconds=True" in worker and "unit_suffix=True" in worker
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    texts = [(MONITORING / "alerts.yml").read_text(), *(t["expr"] for p in dashboard["panels"] for t in p["targets"])]
    for text in texts:
        for histogram in re.findall(r"\b(\w+)_bucket\b", text):
            assert histogram.endswith("_seconds"), histogram
    for panel in dashboard["panels"]:
        exprs = " ".join(t["expr"] for t in panel["targets"])
        if "histogram_quantile" in exprs:
            assert panel["fieldConfig"]["defaults"]["unit"] == "s", panel["title"]
