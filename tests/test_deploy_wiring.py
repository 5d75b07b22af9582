"""The example stacks in deploy/ are wired together: every Secret, key, port, probe, scrape target and job
label that one file names exists in another, Redis is reached the way it runs, the password never sits on a
command line, each service waits for what it needs to be healthy, and the example secrets are refused."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from plugin.api.events.views import streams_per_process
from plugin.config import Settings
from plugin.config_checks import placeholder_secret
from tests.checkout import REPO_ROOT
from tests.test_alert_rules import MONITORING
from tests.test_deploy_files import DEPLOY, compose_envs, in_image, k8s_docs, k8s_envs, k8s_example_secrets

ROLES = ("api", "worker")


def deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] in ("Deployment", "StatefulSet")}


def pod(name: str) -> dict[str, Any]:
    return deployments()[name]["spec"]["template"]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_kubernetes_secrets_are_examples_not_applied_and_every_one_named_exists_with_its_keys():
    assert not [d for d in k8s_docs() if d["kind"] == "Secret"], "kubectl apply -f deploy/kubernetes/ makes Secrets"
    secrets = k8s_example_secrets()
    named = []
    for workload in deployments().values():
        spec = workload["spec"]["template"]["spec"]
        for container in spec["containers"]:
            named += [(s["secretRef"]["name"], None) for s in container.get("envFrom", []) if "secretRef" in s]
            named += [(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
                      for e in container.get("env", []) if "valueFrom" in e]
        named += [(v["secret"]["secretName"], None) for v in spec.get("volumes", []) if "secret" in v]
    assert {name for name, _ in named} == set(secrets)
    for name, key in named:
        assert key is None or key in secrets[name], (name, key)
    configmaps = {d["metadata"]["name"] for d in k8s_docs() if d["kind"] == "ConfigMap"}
    for role in ROLES:
        [container] = pod(f"workflows-{role}")["spec"]["containers"]
        assert {s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s} <= configmaps


def test_kubernetes_tls_files_the_settings_name_are_keys_of_the_mounted_secret():
    for role in ROLES:
        env, spec = k8s_envs()[role], pod(f"workflows-{role}")["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: volumes[m["name"]] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        for setting in ("WORKFLOWS_TEMPORAL_TLS_CERT", "WORKFLOWS_TEMPORAL_TLS_KEY"):
            folder, _, file = env[setting].rpartition("/")
            assert file in k8s_example_secrets()[mounts[folder]["secret"]["secretName"]], (role, setting)


def test_kubernetes_ports_probes_services_and_scrape_annotations_agree():
    for role, metrics_setting in (("api", "WORKFLOWS_METRICS_ADDRESS"), ("worker", "WORKFLOWS_WORKER_METRICS_ADDRESS")):
        template, env = pod(f"workflows-{role}"), k8s_envs()[role]
        [container] = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == int(env[metrics_setting].rpartition(":")[2])
        assert int(template["metadata"]["annotations"]["prometheus.io/port"]) == ports["metrics"]
        for probe in ("readinessProbe", "livenessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] in ports, (role, probe)
    [api] = pod("workflows-api")["spec"]["containers"]
    assert {p["name"]: p["containerPort"] for p in api["ports"]}["http"] == Settings.from_env(
        in_image(k8s_envs()["api"])).port
    services = {d["metadata"]["name"]: d["spec"] for d in k8s_docs() if d["kind"] == "Service"}
    for name, spec in services.items():
        [target] = [w for w in deployments().values()
                    if spec["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        names = {p["name"] for c in target["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in spec["ports"]} <= names, name


def test_kubernetes_redis_url_matches_the_redis_it_runs():
    url = urlsplit(k8s_envs()["api"]["WORKFLOWS_REDIS_URL"])
    services = {d["metadata"]["name"]: d["spec"] for d in k8s_docs() if d["kind"] == "Service"}
    [redis] = pod("redis")["spec"]["containers"]
    assert "tls-port" not in " ".join(redis["args"]) and url.scheme == "redis"  # plain Redis: redis://
    assert url.hostname == "redis.workflows.svc.cluster.local" and url.port == services["redis"]["ports"][0]["port"]
    assert url.password == k8s_example_secrets()["redis-password"]["password"]


def test_the_redis_password_is_never_on_a_command_line():
    [redis] = pod("redis")["spec"]["containers"]
    assert "$(" not in " ".join(redis["args"]) and "--requirepass" not in " ".join(redis["args"])
    text = (DEPLOY / "docker-compose.yml").read_text()
    for service in compose()["services"].values():
        command = " ".join(service.get("command", []))
        assert "${" not in command and "--requirepass" not in command, command
    assert re.search(r'\$\$REDIS_PASSWORD', text)  # read by the container's shell, not expanded by compose


def test_compose_services_wait_for_healthy_dependencies_and_the_proxy_reaches_every_api_replica():
    services = compose()["services"]
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert how == {"condition": "service_healthy"} and "healthcheck" in services[needed], (name, needed)
    assert set(services["worker"]["depends_on"]) == set(services["api"]["depends_on"]) == {"temporal", "redis"}
    assert "ports" not in services["api"] and services["api"]["deploy"]["replicas"] >= 2
    nginx = (DEPLOY / "nginx.conf").read_text()
    listen = int(re.search(r"listen (\d+);", nginx).group(1))
    upstream = urlsplit(re.search(r"set \$api (\S+);", nginx).group(1))
    api = Settings.from_env(in_image(compose_envs()["api"]))
    assert (upstream.hostname, upstream.port) == ("api", api.port)
    [published] = services["proxy"]["ports"]
    assert int(published.rpartition(":")[2]) == listen
    assert "./nginx.conf:" in services["proxy"]["volumes"][0] and api.cors_origins


def test_compose_redis_url_uses_the_password_redis_runs_with():
    services = compose()["services"]
    example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert urlsplit(compose_envs()["api"]["WORKFLOWS_REDIS_URL"]).password == example["REDIS_PASSWORD"]
    assert services["redis"]["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD}"


def relabel(config: dict[str, Any], meta: dict[str, str]) -> dict[str, str] | None:
    """Prometheus' keep/replace relabelling of one target (enough for the plugin's scrape config)."""
    labels = dict(meta)
    for rule in config.get("relabel_configs", []):
        value = rule.get("separator", ";").join(labels.get(s, "") for s in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if rule.get("action", "replace") == "keep":
            if not match:
                return None
        elif match:
            labels[rule["target_label"]] = match.expand(rule.get("replacement", "$1").replace("$", "\\"))
    return {k: v for k, v in labels.items() if not k.startswith("__")} | {"job": labels.get("job", config["job_name"])}


def jobs_watched() -> set[str]:
    texts = [(MONITORING / "alerts.yml").read_text(), (MONITORING / "grafana-dashboard.json").read_text()]
    return {job for text in texts for job in re.findall(r'job=\\?"([\w-]+)', text)}


def test_the_kubernetes_scrape_config_gives_the_job_labels_the_alerts_and_dashboard_watch():
    [config] = yaml.safe_load((MONITORING / "prometheus-kubernetes.yml").read_text())["scrape_configs"]
    jobs = set()
    for workload in deployments().values():
        template = workload["spec"]["template"]
        meta = {"__meta_kubernetes_pod_label_" + re.sub(r"\W", "_", k): v
                for k, v in template["metadata"]["labels"].items()}
        meta |= {"__meta_kubernetes_pod_annotation_" + re.sub(r"\W", "_", k): v
                 for k, v in template["metadata"].get("annotations", {}).items()}
        target = relabel(config, meta | {"__meta_kubernetes_pod_ip": "10.0.0.7", "__meta_kubernetes_pod_name": "p"})
        if target:
            jobs.add(target["job"])
    assert jobs == jobs_watched() == {"workflows-api", "workflows-worker"}
    scrape = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert {job["job_name"] for job in scrape["scrape_configs"]} == jobs_watched()


def test_example_api_processes_hold_at_least_sixteen_event_streams():
    for envs in (compose_envs(), k8s_envs()):
        assert streams_per_process(Settings.from_env(in_image(envs["api"])).api_threads) >= 16


def test_workers_finish_activities_inside_the_platforms_grace_period():
    grace = pod("workflows-worker")["spec"]["terminationGracePeriodSeconds"]
    assert Settings.from_env(in_image(k8s_envs()["worker"])).worker_shutdown_grace < grace
    stop = int(compose()["services"]["worker"]["stop_grace_period"].rstrip("s"))
    assert Settings.from_env(in_image(compose_envs()["worker"])).worker_shutdown_grace < stop


def test_the_temporal_ui_url_is_a_base_url_and_the_example_placeholders_are_refused():
    for envs in (compose_envs(), k8s_envs()):
        for role in ROLES:
            settings = Settings.from_env(in_image(envs[role]))
            assert "/namespaces/" not in (settings.temporal_ui_url or "")
            assert placeholder_secret(envs[role]), role  # copied as-is, the example does not start


def test_the_production_guide_names_every_setting_the_examples_set():
    guide = (REPO_ROOT / "docs/production.md").read_text()
    named = {name for envs in (compose_envs(), k8s_envs()) for env in envs.values() for name in env}
    assert {n for n in named if f"`{n}" not in guide} == set()
    for step in ("namespace create", "ssl_ca_certs", "keys create --scope admin", "/readyz?scope=api"):
        assert step in guide, step


def test_the_api_data_dir_is_a_folder_serve_makes_inside_its_volume():
    """serve keeps its data dir 0700, which only its owner may set: not the root-owned emptyDir mount itself."""
    [container] = pod("workflows-api")["spec"]["containers"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    data_dir = k8s_envs()["api"]["WORKFLOWS_DATA_DIR"]
    assert data_dir not in mounts and any(data_dir.startswith(m + "/") for m in mounts)
