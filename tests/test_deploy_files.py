"""The example deployment files in deploy/ parse, use only settings the plugin reads (and values it accepts),
keep the API and the worker in agreement, keep Temporal and Redis private, and monitor metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugin import metrics
from plugin.config import Settings
from plugin.engine.base import REQUEST_DEADLINES
from plugin.engine.run_snapshots import RUNS_ENDED
from tests.checkout import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
SHARED = ("WORKFLOWS_TEMPORAL_ADDRESS", "WORKFLOWS_TEMPORAL_NAMESPACE", "WORKFLOWS_TASK_QUEUE", "WORKFLOWS_WORKSPACE",
          "WORKFLOWS_REDIS_URL", "WORKFLOWS_DECISION_SECRET", "WORKFLOWS_LINK_SECRET", "WORKFLOWS_PAYLOAD_KEYS")
# Temporal SDK metrics the rules and dashboard use: names and labels as the worker's exporter writes them
# (read from a running worker; *_execution_failed_total appears with the first failure).
SDK_METRICS = {"temporal_num_pollers", "temporal_worker_task_slots_available",
               "temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
               "temporal_workflow_task_execution_failed_total", "up"}


def settings_read_by_the_plugin() -> set[str]:
    """Every WORKFLOWS_* name that the plugin's code reads."""
    names: set[str] = set()
    for source in (REPO_ROOT / "plugin").rglob("*.py"):
        names |= set(re.findall(r"[\"'](WORKFLOWS_[A-Z0-9_]+)[\"']", source.read_text()))
    return names


def known_metrics() -> set[str]:
    """Every sample name the API and the worker export."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    names = {f"{m._name}{s}" for m in vars(metrics).values() if hasattr(m, "_type") and hasattr(m, "_name")
             for s in suffixes.get(m._type, ("",))}
    return names | {"workflows_pending_requests", f"{RUNS_ENDED}_total", f"{REQUEST_DEADLINES}_total"} | SDK_METRICS


def image_env() -> dict[str, str]:
    """The ``ENV`` settings of deploy/Dockerfile."""
    lines = [line[4:] for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("ENV ")]
    return dict(pair.split("=", 1) for line in lines for pair in line.split())


def in_image(env: dict[str, str]) -> dict[str, str]:
    """What a container sees (the image's ENV, then the file's), with the image's /app (the repository, per
    deploy/Dockerfile) mapped to this checkout."""
    return {k: v.replace("/app/", f"{REPO_ROOT}/") for k, v in (image_env() | env).items()}


def compose_envs() -> dict[str, dict[str, str]]:
    text = (DEPLOY / "docker-compose.yml").read_text()
    secrets = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(secrets)
    assert not missing, f".env.example lacks {missing}"
    doc = yaml.safe_load(re.sub(r"\$\{(\w+)\}", lambda m: secrets[m.group(1)], text))
    return {name: {k: str(v) for k, v in doc["services"][name]["environment"].items()}
            for name in ("api", "worker", "events")}


def k8s_docs() -> list[dict[str, Any]]:
    """What `kubectl apply -f deploy/kubernetes/` creates."""
    return [d for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text())]


def k8s_example_secrets() -> dict[str, dict[str, str]]:
    """The Secrets the manifests name, from the example the operator replaces (not applied with the folder)."""
    docs = yaml.safe_load_all((DEPLOY / "kubernetes/secrets/secrets.example.yaml").read_text())
    return {d["metadata"]["name"]: d["stringData"] for d in docs if d["kind"] == "Secret"}


def k8s_envs() -> dict[str, dict[str, str]]:
    docs = k8s_docs()
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    by_name |= {("Secret", name): {"stringData": data} for name, data in k8s_example_secrets().items()}
    out = {}
    for name in ("api", "worker", "events"):
        [container] = by_name[("Deployment", f"workflows-{name}")]["spec"]["template"]["spec"]["containers"]
        env: dict[str, str] = {}
        for source in container["envFrom"]:
            if "configMapRef" in source:
                env |= by_name[("ConfigMap", source["configMapRef"]["name"])]["data"]
            else:
                env |= by_name[("Secret", source["secretRef"]["name"])]["stringData"]
        out[name] = env | {e["name"]: e["value"] for e in container["env"]}
    return out


def test_every_file_parses():
    for path in DEPLOY.rglob("*"):
        if path.suffix in (".yml", ".yaml"):
            assert [d for d in yaml.safe_load_all(path.read_text())], path
        elif path.suffix == ".json":
            json.loads(path.read_text())


@pytest.mark.parametrize("envs", [compose_envs, k8s_envs], ids=["compose", "kubernetes"])
def test_api_and_worker_use_real_settings_with_valid_values_and_agree(envs):
    known = settings_read_by_the_plugin()
    found = envs()
    for role, env in found.items():
        assert set(env) <= known, f"{role}: not read by the plugin: {set(env) - known}"
        settings = Settings.from_env(in_image(env))  # raises ConfigError naming a bad value
        assert settings.temporal_address and settings.redis_url and settings.decision_secret, role
        assert settings.identity.link_secret and settings.payload_keys, role
    assert {k: found["api"].get(k) for k in SHARED} == {k: found["worker"].get(k) for k in SHARED}
    assert Settings.from_env(in_image(found["api"])).host == "0.0.0.0"
    # the events edge authenticates the API's callers: the same Redis, keys and identity settings
    callers = [k for k in found["api"] if re.match(r"WORKFLOWS_(REDIS_URL|ADMIN_KEY|APP_KEY|OIDC)", k)]
    assert {k: found["api"][k] for k in callers} == {k: found["events"].get(k) for k in callers}
    assert Settings.from_env(in_image(found["events"])).host == "0.0.0.0"


def test_the_image_holds_the_workspace_the_settings_name():
    """tests/test_dockerfile.py builds the image's folders and finds each workspace there; here: they agree."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "WORKDIR /app" in dockerfile and "RUN workflows-plugin samples copy /app/sample_apps" in dockerfile
    for env in (*compose_envs().values(), *k8s_envs().values()):
        assert all(Path(p).is_relative_to("/app/sample_apps") for p in env["WORKFLOWS_WORKSPACE"].split(":"))


def test_compose_publishes_only_the_proxy_which_routes_streams_to_the_edge_and_persists_redis():
    doc = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    published = {name for name, service in doc["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    nginx = (DEPLOY / "nginx.conf").read_text()
    stream = nginx[nginx.index("location = /api/v1/events {"):]
    assert "set $events http://events:8788;" in nginx and stream.split("}")[0].count("proxy_pass $events;") == 1
    assert "proxy_buffering off;" in stream.split("}")[0]
    assert "--appendonly yes" in " ".join(doc["services"]["redis"]["command"])
    assert doc["services"]["api"]["deploy"]["replicas"] >= 2 and doc["services"]["worker"]["deploy"]["replicas"] >= 2


def test_kubernetes_lets_only_the_plugin_reach_temporal_and_redis():
    docs = k8s_docs()
    components = {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                  for d in docs if d["kind"] == "Deployment"}
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    temporal = policies["temporal-frontend-from-workflows-only"]["spec"]
    assert [p["port"] for rule in temporal["ingress"] for p in rule["ports"]] == [7233]
    assert components == {"api", "worker", "events"}
    needs = {"temporal-frontend-from-workflows-only": {"api", "worker"}, "redis-from-workflows-only": components}
    for name, policy in policies.items():
        for rule in policy["spec"]["ingress"]:
            [allowed] = [e["values"] for peer in rule["from"] for e in peer["podSelector"]["matchExpressions"]]
            assert set(allowed) == needs[name]
    [ingress] = [d for d in docs if d["kind"] == "Ingress"]
    paths = {p["path"]: (p["pathType"], p["backend"]["service"]["name"])
             for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths == {"/api/v1/events": ("Exact", "workflows-events"), "/": ("Prefix", "workflows-api")}
    [redis] = [d for d in docs if d["kind"] == "StatefulSet"]
    assert "--appendonly yes" in " ".join(redis["spec"]["template"]["spec"]["containers"][0]["args"])


def expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "monitoring/alerts.yml").read_text())
    out = [(r["alert"], r["expr"]) for group in rules["groups"] for r in group["rules"]]
    dashboard = json.loads((DEPLOY / "monitoring/grafana-dashboard.json").read_text())
    return out + [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def test_alerts_and_dashboard_watch_metrics_that_exist():
    known = known_metrics()
    for name, expr in expressions():
        used = set(re.findall(r"\b((?:workflows|temporal)_[a-z_]+|up)\s*[{(]", expr))
        assert used and used <= known, f"{name}: {used - known}"


def test_there_are_alerts_for_stuck_runs_overdue_requests_and_an_absent_worker():
    rules = {r["alert"]: r for g in yaml.safe_load((DEPLOY / "monitoring/alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    assert {"WorkflowsRunsStuck", "WorkflowsRequestsOverdue", "WorkflowsWorkerAbsent"} <= set(rules)
    for rule in rules.values():
        assert rule["labels"]["severity"] in ("critical", "warning", "info") and rule["annotations"]["summary"]
    scrape = yaml.safe_load((DEPLOY / "monitoring/prometheus.yml").read_text())
    ports = {job["job_name"]: job["dns_sd_configs"][0]["port"] for job in scrape["scrape_configs"]}
    envs = compose_envs()
    assert envs["api"]["WORKFLOWS_METRICS_ADDRESS"].endswith(f":{ports['workflows-api']}")
    assert envs["worker"]["WORKFLOWS_WORKER_METRICS_ADDRESS"].endswith(f":{ports['workflows-worker']}")
