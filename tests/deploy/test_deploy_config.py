"""The production deployment files, read by the libraries that will consume them.

Checked here: ``deploy/dagster.k8s.yaml`` by Dagster's own instance-config validation, and as a
real ``DagsterInstance`` on the test PostgreSQL whose ``K8sRunLauncher`` is constructed (against
a kubeconfig naming a cluster that does not exist: the launcher loads the config but no test
calls the Kubernetes API); the Kubernetes Jobs that launcher and the model job's
``k8s_job_executor`` would submit, built by dagster-k8s's own functions; every manifest
deserialised into the official ``kubernetes`` client models; every container command parsed by
the real ``animerec`` CLI; the Helm values against the instance they must render; the Dockerfile
against the repository. Not checked here (no cluster, registry or chart offline): building the
image, ``helm template``/``lint``, scheduling pods, reaching BigQuery and GCS.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shlex
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes.client
import pytest
import sqlalchemy as sa
import typer
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_user_defined_k8s_config
from typer.testing import CliRunner

from animerec_assets.deploy_tags import (
    K8S_CONFIG_TAG,
    TRAINING_RESOURCES,
    TRAINING_RUN_TAGS,
    WORKLOAD_TAG,
)
from animerec_assets.settings import SettingsError, load_settings
from animerec_cli.main import app as animerec_app

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
K8S_DIR = DEPLOY / "k8s"
INSTANCE_YAML = DEPLOY / "dagster.k8s.yaml"
HELM_VALUES = DEPLOY / "helm" / "dagster-values.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
SETTINGS_PY = REPO_ROOT / "animerec_assets" / "settings.py"

CONFIG_MAP = "animerec-config"
SECRET = "animerec-secrets"
CRAWL_VOLUME = "crawl-data"
CRAWL_CLAIM = "animerec-crawl"
API = "animerec-api"
IMAGE_FOR_TESTS = "registry.invalid/animerec:test"

# (apiVersion, kind) -> the kubernetes client model the document must deserialise into
KIND_MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
}

# A cluster that does not exist: enough for the kubernetes client to load a configuration.
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "none", "cluster": {"server": "https://kubernetes.invalid:6443"}}],
    "users": [{"name": "none", "user": {"token": "not-a-token"}}],
    "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
    "current-context": "none",
}


# ------------------------------------------------------------------ helpers


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def all_manifests() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in yaml_documents(path)]


def find(kind: str, name: str) -> dict[str, Any]:
    for doc in all_manifests():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} under deploy/k8s")


class _Body:
    """What ``ApiClient.deserialize`` reads: an HTTP response whose body is JSON."""

    def __init__(self, document: Any) -> None:
        self.data = json.dumps(document)


def differences(original: Any, round_trip: Any, path: str = "") -> list[str]:
    """Paths where the document and its model's serialisation disagree: a key the client model
    does not know is silently dropped by ``deserialize``, a value of the wrong type changes."""
    if isinstance(original, dict) and isinstance(round_trip, dict):
        found = []
        for key, value in original.items():
            if key not in round_trip:
                found.append(f"{path}.{key} (unknown field)")
            else:
                found += differences(value, round_trip[key], f"{path}.{key}")
        return found
    if isinstance(original, list) and isinstance(round_trip, list):
        if len(original) != len(round_trip):
            return [f"{path} (list length)"]
        found = []
        for index, (a, b) in enumerate(zip(original, round_trip, strict=True)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if original == round_trip else [f"{path}: {original!r} != {round_trip!r}"]


def to_model(document: dict[str, Any], type_name: str | None = None) -> Any:
    """The document as a kubernetes client model; fails on fields the model lacks."""
    name = type_name or KIND_MODELS[(document["apiVersion"], document["kind"])]
    api = kubernetes.client.ApiClient()
    model = api.deserialize(_Body(document), name)
    assert isinstance(model, getattr(kubernetes.client, name))
    problems = differences(document, api.sanitize_for_serialization(model))
    assert not problems, f"{name}: {problems}"
    return model


def animerec_command(path: list[str]) -> Any:
    """The command ``animerec <path...>`` resolves to (KeyError if there is none). Typer builds
    it on its own copy of click, hence no click types here."""
    command = typer.main.get_command(animerec_app)
    for name in path:
        sub = command.get_command(None, name) if hasattr(command, "get_command") else None
        if sub is None:
            raise KeyError(f"animerec has no command {' '.join(path)!r}")
        command = sub
    return command


def check_animerec_invocation(command: list[str], args: list[str]) -> None:
    """Fail unless ``command + args`` is a valid ``animerec`` invocation (parsed, not run)."""
    assert command[0] == "animerec", command
    leaf = animerec_command(command[1:])
    result = CliRunner().invoke(animerec_app, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert f"animerec {' '.join(command[1:])}" in " ".join(result.output.split())
    leaf.make_context(leaf.name, list(args))  # raises a usage error on a bad option or value


def settings_variables() -> set[str]:
    """Every environment variable ``settings.py`` reads (through ``_env`` / ``_required``)."""
    return _settings_calls({"_env", "_required"})


def _settings_calls(functions: set[str]) -> set[str]:
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in functions
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def pod_environment() -> dict[str, str]:
    """What every animerec pod gets from the example ConfigMap and Secret."""
    return {**find("ConfigMap", CONFIG_MAP)["data"], **find("Secret", SECRET)["stringData"]}


def deployment_containers(
    crawler_only: bool = False,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every Deployment's containers (``crawler_only``: those that crawl, not the API)."""
    return [
        (doc, container)
        for doc in all_manifests()
        if doc["kind"] == "Deployment" and not (crawler_only and doc["metadata"]["name"] == API)
        for container in doc["spec"]["template"]["spec"]["containers"]
    ]


def instance_yaml() -> dict[str, Any]:
    return yaml.safe_load(INSTANCE_YAML.read_text(encoding="utf-8"))


def launcher_config() -> dict[str, Any]:
    return instance_yaml()["run_launcher"]["config"]


def offline_launcher_config(tmp_path: Path) -> dict[str, Any]:
    """The production launcher config, pointed at a kubeconfig instead of the in-cluster one."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG), encoding="utf-8")
    return {**launcher_config(), "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}


def build_launcher(config: dict[str, Any]) -> K8sRunLauncher:
    data = ConfigurableClassData("dagster_k8s", "K8sRunLauncher", yaml.safe_dump(config))
    return data.rehydrate(K8sRunLauncher)


def run_job(launcher: K8sRunLauncher, run: DagsterRun) -> kubernetes.client.V1Job:
    """The Job the launcher would submit for ``run`` (its own steps, short of the API call)."""
    context = launcher.get_container_context_for_run(run)
    return construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=IMAGE_FOR_TESTS, run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name=f"dagster-run-{run.run_id}",
        pod_name=f"dagster-run-{run.run_id}",
        component="run_worker",
        user_defined_k8s_config=context.run_k8s_config,
    )


def step_job(launcher: K8sRunLauncher, run: DagsterRun, op_tags: dict[str, str]):
    """The Job ``k8s_job_executor`` would submit for a step with ``op_tags`` (the merges of
    ``K8sStepHandler._get_container_context``, short of the API call)."""
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False).merge(
        K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(op_tags))
    )
    return construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=IMAGE_FOR_TESTS, run_launcher=launcher),
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-test",
        pod_name="dagster-step-test",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
    )


def helm_values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))


def helm_run_launcher(values: dict[str, Any]) -> dict[str, Any]:
    """The K8sRunLauncher config the Dagster chart renders from our values (the chart's
    mapping, for the fields these values set; release `dagster` names the rest)."""
    chart = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    rendered = {
        "load_incluster_config": chart["loadInclusterConfig"],
        "job_namespace": chart["jobNamespace"],
        "image_pull_policy": chart["imagePullPolicy"],
        "service_account_name": "dagster",
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": "dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "env_config_maps": [ref["name"] for ref in chart["envConfigMaps"]],
        "env_secrets": [ref["name"] for ref in chart["envSecrets"]],
        "volume_mounts": chart["volumeMounts"],
        "volumes": chart["volumes"],
        "labels": chart["labels"],
        "resources": chart["resources"],
    }
    if chart.get("envVars"):
        rendered["env_vars"] = chart["envVars"]
    if chart.get("failPodOnRunFailure"):
        rendered["fail_pod_on_run_failure"] = True
    return rendered


# ------------------------------------------------------------------ Kubernetes manifests


def test_every_manifest_deserialises_into_the_kubernetes_models():
    documents = all_manifests()
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}
    assert {
        ("Deployment", "animerec-crawler-worker"),
        ("Deployment", "animerec-crawl-service"),
        ("Service", "animerec-crawl-service"),
        ("Deployment", API),
        ("Service", API),
        ("NetworkPolicy", API),
        ("PersistentVolumeClaim", CRAWL_CLAIM),
        ("HorizontalPodAutoscaler", "animerec-crawler-worker"),
        ("ConfigMap", CONFIG_MAP),
        ("Secret", SECRET),
        ("NetworkPolicy", "animerec-crawl-service"),
        ("NetworkPolicy", "animerec-crawler-worker"),
    } <= kinds
    for document in documents:
        to_model(document)


def test_a_misspelt_or_mistyped_field_is_caught():
    deployment = find("Deployment", "animerec-crawler-worker")
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(AssertionError, match=r"\.spec\.replica \(unknown field\)"):
        to_model(misspelt)
    nameless = json.loads(json.dumps(deployment))
    del nameless["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError, match="name"):
        to_model(nameless)


def test_kustomization_installs_the_workloads_but_never_the_example_secrets():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["namespace"] == launcher_config()["job_namespace"]
    resources = kustomization["resources"]
    assert set(resources) == {
        "crawler-workers.yaml",
        "crawl-service.yaml",
        "api.yaml",
        "network-policies.yaml",
    }
    for resource in resources:
        assert (K8S_DIR / resource).is_file()


def test_crawler_workers_are_n_replicas_of_the_queue_worker():
    deployment = to_model(find("Deployment", "animerec-crawler-worker"))
    assert deployment.spec.replicas >= 2
    (container,) = deployment.spec.template.spec.containers
    assert container.command == ["animerec", "crawl", "worker"]
    # the same stream and group the crawl assets enqueue to (the CLI's defaults)
    assert "--stream" not in container.args and "--group" not in container.args
    autoscaler = to_model(find("HorizontalPodAutoscaler", "animerec-crawler-worker"))
    assert autoscaler.spec.scale_target_ref.name == deployment.metadata.name
    assert autoscaler.spec.scale_target_ref.kind == "Deployment"
    assert 1 <= autoscaler.spec.min_replicas <= autoscaler.spec.max_replicas


def test_containers_run_existing_animerec_commands():
    containers = deployment_containers()
    assert len(containers) == 3
    for _, container in containers:
        check_animerec_invocation(container["command"], container.get("args", []))


def test_a_command_the_cli_does_not_have_is_caught():
    with pytest.raises(KeyError, match="crawl wrker"):
        check_animerec_invocation(["animerec", "crawl", "wrker"], [])
    with pytest.raises(Exception, match="No such option: --concurency"):
        check_animerec_invocation(["animerec", "crawl", "worker"], ["--concurency", "2"])
    with pytest.raises(Exception, match="greater than or equal to 1"):
        check_animerec_invocation(["animerec", "crawl", "worker"], ["--concurrency", "0"])


def test_crawl_service_is_reachable_where_the_app_looks_for_it():
    service = to_model(find("Service", "animerec-crawl-service"))
    deployment = to_model(find("Deployment", "animerec-crawl-service"))
    pod_labels = deployment.spec.template.metadata.labels
    assert service.spec.selector.items() <= pod_labels.items()
    (container,) = deployment.spec.template.spec.containers
    (port,) = container.ports
    args = container.args
    assert args[args.index("--port") + 1] == str(port.container_port)
    assert args[args.index("--host") + 1] == "0.0.0.0"  # reachable from other pods
    assert container.readiness_probe.http_get.path == "/health"
    url = pod_environment()["ANIMEREC_CRAWLER_SERVICE_URL"]
    assert url == f"http://{service.metadata.name}:{service.spec.ports[0].port}"
    assert service.spec.ports[0].target_port == port.name


def test_crawler_pods_cannot_escalate_or_write_their_image():
    home = pod_environment()["ANIMEREC_HOME"]
    for document, _ in deployment_containers():
        deployment = to_model(document)
        pod = deployment.spec.template.spec
        assert pod.automount_service_account_token is False
        assert pod.security_context.run_as_non_root is True
        assert pod.security_context.seccomp_profile.type == "RuntimeDefault"
        writable = {v.name for v in pod.volumes if v.empty_dir or v.persistent_volume_claim}
        for container in pod.containers:
            context = container.security_context
            assert context.allow_privilege_escalation is False
            assert context.read_only_root_filesystem is True
            assert context.run_as_non_root is True and not context.privileged
            assert context.capabilities.drop == ["ALL"] and not context.capabilities.add
            mounts = {m.mount_path: m.name for m in container.volume_mounts}
            # where the code writes (ANIMEREC_HOME, the crawl volume, temp files) is a volume
            crawls = deployment.metadata.name != API
            for path in (home, f"{home}/crawl", "/tmp") if crawls else (home, "/tmp"):
                assert mounts.get(path) in writable, (deployment.metadata.name, path)


def _egress_ports(policy: Any) -> set[tuple[str, int]]:
    return {(p.protocol, p.port) for rule in policy.spec.egress for p in rule.ports}


def test_network_policies_let_crawler_pods_reach_only_dns_db_redis_and_https():
    policies = [to_model(d) for d in all_manifests() if d["kind"] == "NetworkPolicy"]
    environment = pod_environment()
    from urllib.parse import urlsplit

    needed = {
        ("TCP", urlsplit(environment["ANIMEREC_SCHEDULER_DB_URL"]).port),
        ("TCP", urlsplit(environment["REDIS_URL"]).port),
        ("TCP", 443),
        ("UDP", 53),
        ("TCP", 53),
    }
    for name in ("animerec-crawl-service", "animerec-crawler-worker"):
        deployment = to_model(find("Deployment", name))
        labels = deployment.spec.template.metadata.labels
        (policy,) = [
            p for p in policies if p.spec.pod_selector.match_labels.items() <= labels.items()
        ]
        assert set(policy.spec.policy_types) == {"Ingress", "Egress"}
        assert _egress_ports(policy) == needed
        for rule in policy.spec.egress:
            ports = {p.port for p in rule.ports}
            if 53 in ports:  # DNS only to the cluster's resolver
                (peer,) = rule.to
                assert peer.namespace_selector.match_labels == {
                    "kubernetes.io/metadata.name": "kube-system"
                }
            if 443 in ports:  # HTTPS only to public addresses (not the metadata server)
                assert ports == {443}
                (peer,) = rule.to
                assert peer.ip_block.cidr == "0.0.0.0/0"
                assert {"169.254.0.0/16", "10.0.0.0/8"} <= set(peer.ip_block._except)
    service_policy = next(p for p in policies if p.metadata.name == "animerec-crawl-service")
    (ingress,) = service_policy.spec.ingress
    assert [(p.protocol, p.port) for p in ingress.ports] == [("TCP", 8765)]
    (source,) = ingress._from
    assert source.pod_selector.match_labels == {"app.kubernetes.io/part-of": "animerec"}
    worker_policy = next(p for p in policies if p.metadata.name == "animerec-crawler-worker")
    assert not worker_policy.spec.ingress  # nothing connects to a worker


def test_the_api_serves_the_published_recommendations_and_is_ready_only_when_it_can():
    service = to_model(find("Service", API))
    deployment = to_model(find("Deployment", API))
    assert deployment.spec.replicas >= 2
    assert service.spec.selector.items() <= deployment.spec.template.metadata.labels.items()
    (container,) = deployment.spec.template.spec.containers
    assert container.command == ["animerec", "api", "serve"]
    check_animerec_invocation(container.command, container.args)
    (port,) = container.ports
    args = container.args
    assert args[args.index("--port") + 1] == str(port.container_port)
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert service.spec.ports[0].target_port == port.name
    # ready while a published model answers; a Redis outage must not restart the pods
    assert container.readiness_probe.http_get.path == "/v1/freshness"
    assert container.readiness_probe.http_get.port == port.name
    assert container.liveness_probe.tcp_socket.port == port.name
    assert container.resources.requests["cpu"] and container.resources.limits["memory"]
    # CORS origins and the app's address from the ConfigMap (read by settings.py); of the
    # secret only REDIS_URL: a public pod holds no database password, token or export key
    sources = {(s.config_map_ref or s.secret_ref).name for s in container.env_from}
    assert sources == {CONFIG_MAP}
    from_secret = {
        e.name: e.value_from.secret_key_ref
        for e in container.env
        if e.value_from and e.value_from.secret_key_ref
    }
    assert list(from_secret) == ["REDIS_URL"]
    assert (from_secret["REDIS_URL"].name, from_secret["REDIS_URL"].key) == (SECRET, "REDIS_URL")
    assert "REDIS_URL" in find("Secret", SECRET)["stringData"]
    assert "REDIS_URL" not in find("ConfigMap", CONFIG_MAP)["data"]
    assert "ANIMEREC_API_CORS_ORIGINS" in find("ConfigMap", CONFIG_MAP)["data"]
    # it reads Redis only: no crawl volume
    assert CRAWL_VOLUME not in {v.name for v in deployment.spec.template.spec.volumes}


def test_the_api_answers_the_configured_origins_only(monkeypatch):
    from api.server import ApiConfig

    for name, value in pod_environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    origins = find("ConfigMap", CONFIG_MAP)["data"]["ANIMEREC_API_CORS_ORIGINS"].split(",")
    assert settings.api_cors_origins == tuple(o.strip() for o in origins)
    monkeypatch.setenv("ANIMEREC_API_CORS_ORIGINS", " https://a.example , ,https://b.example")
    assert load_settings().api_cors_origins == ("https://a.example", "https://b.example")
    monkeypatch.delenv("ANIMEREC_API_CORS_ORIGINS")
    assert load_settings().api_cors_origins == ()
    assert ApiConfig().cors_origins == ()


def test_the_api_starts_with_the_config_map_and_redis_url_alone(monkeypatch):
    """What api.yaml gives the pod is enough for ``animerec api serve`` (serving_only), while
    the pipeline's settings still refuse that environment: the narrowing is real."""
    for variable in list(os.environ):
        if variable.startswith(("ANIMEREC_", "DAGSTER_PG", "GCP_", "BIGQUERY_")):
            monkeypatch.delenv(variable)
    monkeypatch.delenv("REDIS_URL", raising=False)
    for variable, value in find("ConfigMap", CONFIG_MAP)["data"].items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("REDIS_URL", find("Secret", SECRET)["stringData"]["REDIS_URL"])
    settings = load_settings(serving_only=True)
    assert settings.env == "prod" and settings.redis_url == os.environ["REDIS_URL"]
    assert settings.app_url == find("ConfigMap", CONFIG_MAP)["data"]["ANIMEREC_APP_URL"]
    assert settings.export_pseudonym_key is None and settings.crawler_service_token is None
    with pytest.raises(SettingsError):
        load_settings()
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(serving_only=True)


def test_the_api_reaches_only_redis_and_dns():
    policy = to_model(find("NetworkPolicy", API))
    deployment = to_model(find("Deployment", API))
    labels = deployment.spec.template.metadata.labels
    assert policy.spec.pod_selector.match_labels.items() <= labels.items()
    from urllib.parse import urlsplit

    redis_port = urlsplit(pod_environment()["REDIS_URL"]).port
    assert _egress_ports(policy) == {("TCP", redis_port), ("UDP", 53), ("TCP", 53)}
    (ingress,) = policy.spec.ingress
    (container,) = deployment.spec.template.spec.containers
    assert [(p.protocol, p.port) for p in ingress.ports] == [
        ("TCP", container.ports[0].container_port)
    ]


def test_the_service_token_is_a_secret_and_long_enough():
    secret = find("Secret", SECRET)["stringData"]
    assert len(secret["ANIMEREC_SERVICE_TOKEN"]) >= 16
    assert "ANIMEREC_SERVICE_TOKEN" not in find("ConfigMap", CONFIG_MAP)["data"]


def test_the_mal_api_client_id_reaches_every_pod_only_by_secret_reference(monkeypatch):
    """Crawls with source malapi send ANIMEREC_MAL_CLIENT_ID: it lives in animerec-secrets,
    which every workload and every Helm-launched run reads by reference; no manifest or Helm
    value spells it out, and production without it refuses to start such a crawl."""
    name = "ANIMEREC_MAL_CLIENT_ID"
    assert name in find("Secret", SECRET)["stringData"]
    assert name not in find("ConfigMap", CONFIG_MAP)["data"]
    for _, container in deployment_containers(crawler_only=True):
        assert {"secretRef": {"name": SECRET}} in container["envFrom"]
        assert name not in {e["name"] for e in container.get("env", [])}
    helm = helm_values()
    (code_location,) = helm["dagster-user-deployments"]["deployments"]
    assert [ref["name"] for ref in code_location["envSecrets"]] == [SECRET]
    assert helm_run_launcher(helm)["env_secrets"] == [SECRET]
    literal = [
        path.name
        for path in [*manifest_files(), HELM_VALUES, INSTANCE_YAML]
        if path.name != "secrets.example.yaml" and name in path.read_text(encoding="utf-8")
    ]
    assert literal == []
    for variable in list(os.environ):
        if variable.startswith(("ANIMEREC_", "DAGSTER_PG", "GCP_", "BIGQUERY_")):
            monkeypatch.delenv(variable)
    for variable, value in pod_environment().items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ANIMEREC_CRAWL_SOURCE", "malapi")
    assert load_settings().mal_client_id == find("Secret", SECRET)["stringData"][name]
    monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match=name):
        load_settings()


# ------------------------------------------------------------------ environment and image


def test_pod_environment_is_exactly_what_settings_reads(monkeypatch):
    environment = pod_environment()
    unknown = set(environment) - settings_variables()
    assert not unknown, f"variables settings.py never reads: {unknown}"
    for name in list(os.environ):
        if name.startswith(("ANIMEREC_", "DAGSTER_PG", "GCP_", "BIGQUERY_")) or name == "REDIS_URL":
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.env == "prod" and settings.warehouse == "bigquery"
    assert settings.redis_url and settings.artifact_uri.startswith("gs://")
    assert settings.dagster_pg_url.startswith("postgresql+psycopg2://")
    # workers write under settings.crawl_output_dir; it must be the shared volume
    assert str(settings.crawl_output_dir) == "/data/crawl"
    # without one of the required variables production refuses to start
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings()


def test_every_pod_gets_the_environment_and_the_crawl_volume():
    mounts: list[str] = []
    for document, container in deployment_containers(crawler_only=True):
        sources = container["envFrom"]
        assert {"configMapRef": {"name": CONFIG_MAP}} in sources
        assert {"secretRef": {"name": SECRET}} in sources
        assert not set(e["name"] for e in container.get("env", [])) - settings_variables()
        volumes = {v["name"]: v for v in document["spec"]["template"]["spec"]["volumes"]}
        assert volumes[CRAWL_VOLUME]["persistentVolumeClaim"]["claimName"] == CRAWL_CLAIM
        mounts += [m["mountPath"] for m in container["volumeMounts"] if m["name"] == CRAWL_VOLUME]
    launcher = launcher_config()
    assert launcher["env_config_maps"] == [CONFIG_MAP]
    assert launcher["env_secrets"] == [SECRET]
    mounts += [m["mountPath"] for m in launcher["volume_mounts"] if m["name"] == CRAWL_VOLUME]
    (volume,) = [v for v in launcher["volumes"] if v["name"] == CRAWL_VOLUME]
    assert volume["persistentVolumeClaim"]["claimName"] == CRAWL_CLAIM
    claim = to_model(find("PersistentVolumeClaim", CRAWL_CLAIM))
    assert "ReadWriteMany" in claim.spec.access_modes  # many writers on many nodes
    home = pod_environment()["ANIMEREC_HOME"]
    assert mounts and set(mounts) == {f"{home}/crawl"}


def test_one_image_everywhere():
    deployment = helm_values()["dagster-user-deployments"]["deployments"][0]
    helm_image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    images = {container["image"] for _, container in deployment_containers()}
    assert images == {helm_image}
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    (override,) = kustomization["images"]
    assert f"{override['newName']}:{override['newTag']}" == helm_image
    assert override["name"] == deployment["image"]["repository"]
    # the image's unprivileged user is the one the pods run as
    pods = [document["spec"]["template"]["spec"] for document, _ in deployment_containers()]
    users = {pod["securityContext"]["runAsUser"] for pod in pods}
    assert f"USER {users.pop()}" in DOCKERFILE.read_text(encoding="utf-8")
    assert not users


def test_dockerfile_installs_the_lock_and_parses_the_dbt_manifest():
    lines = " ".join(DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").split("\n"))
    assert "uv sync --frozen --no-dev --no-install-project" in lines
    assert "uv sync --frozen --no-dev " in lines
    assert "python -m animerec_assets.lib.dbt_paths" in lines
    # the build-time parse runs with ANIMEREC_ENV=prod: every required setting must be given
    parse_step = lines.split("python -m animerec_assets.lib.dbt_paths")[0].rsplit("RUN", 1)
    given = {word.split("=")[0] for word in shlex.split(parse_step[1]) if "=" in word}
    assert _settings_calls({"_required"}) <= given
    # everything the image copies exists, and every package the project builds is copied
    copied: set[str] = set()
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied |= set(line.split()[1:-1])
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    packages = ast.literal_eval(pyproject.split("packages = ", 1)[1].splitlines()[0])
    assert set(packages) <= copied


# ------------------------------------------------------------------ the Dagster instance


@dg.op
def train_stand_in() -> None:
    return None


@dg.job(name="model_job")
def model_job_stand_in() -> None:
    train_stand_in()


def test_k8s_instance_yaml_is_valid_dagster_instance_config(tmp_path):
    (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML.read_text(encoding="utf-8"))
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_launcher"]["module"] == "dagster_k8s"
    result = validate_config(K8sRunLauncher.config_type(), config["run_launcher"]["config"])
    assert result.success, result.errors
    # a misspelt launcher key is an error, not a silently ignored setting
    wrong = {**launcher_config(), "env_secret": [SECRET]}
    assert not validate_config(K8sRunLauncher.config_type(), wrong).success


def test_k8s_instance_launches_runs_as_kubernetes_jobs(tmp_path, monkeypatch, postgres_database):
    """A real instance from dagster.k8s.yaml: PostgreSQL storage on the test server, the queued
    run coordinator and a K8sRunLauncher (loaded from a kubeconfig, not in-cluster)."""
    pg_url = postgres_database.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    monkeypatch.setenv("DAGSTER_PG_URL", pg_url)
    config = instance_yaml()
    config["run_launcher"]["config"] = offline_launcher_config(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": WORKLOAD_TAG, "value": "training", "limit": 1} in limits
        launcher = instance.run_launcher
        assert isinstance(launcher, K8sRunLauncher)
        run = instance.create_run_for_job(model_job_stand_in, tags=TRAINING_RUN_TAGS)
        job = run_job(launcher, run)
    engine = sa.create_engine(postgres_database)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("select run_id from runs")).scalars().all()
    engine.dispose()
    assert stored == [run.run_id]
    to_model(kubernetes.client.ApiClient().sanitize_for_serialization(job), "V1Job")
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert job.metadata.namespace is None or job.metadata.namespace == "animerec"
    assert launcher.job_namespace == "animerec"
    config_maps = {
        source.config_map_ref.name for source in container.env_from if source.config_map_ref
    }
    assert CONFIG_MAP in config_maps
    assert SECRET in {source.secret_ref.name for source in container.env_from if source.secret_ref}
    mounts = {(m.name, m.mount_path) for m in container.volume_mounts}
    assert (CRAWL_VOLUME, "/data/crawl") in mounts
    claims = {
        v.persistent_volume_claim.claim_name for v in pod.volumes if v.persistent_volume_claim
    }
    assert claims == {CRAWL_CLAIM}
    assert container.resources.requests == {"cpu": "500m", "memory": "2Gi"}


def test_training_steps_get_their_own_large_pods(tmp_path):
    """Every ML asset's op tags, read by dagster-k8s as the step executor reads them."""
    from animerec_assets.defs.ml.definitions import defs as ml_defs

    launcher = build_launcher(offline_launcher_config(tmp_path))
    run = DagsterRun(job_name="model_job", tags=TRAINING_RUN_TAGS)
    assets = list(ml_defs.assets)
    assert len(assets) == 4
    for asset in assets:
        tags = asset.op.tags
        assert K8S_CONFIG_TAG in tags, asset.key
        (container,) = step_job(launcher, run, tags).spec.template.spec.containers
        assert container.resources.requests == TRAINING_RESOURCES["requests"]
        assert container.resources.limits == TRAINING_RESOURCES["limits"]
        # the launcher's environment reaches the step pod too
        assert SECRET in {s.secret_ref.name for s in container.env_from if s.secret_ref}
    # a malformed tag is refused when the step would launch, not silently ignored
    with pytest.raises(Exception, match=K8S_CONFIG_TAG):
        get_user_defined_k8s_config({K8S_CONFIG_TAG: json.dumps({"container_confg": {}})})


def test_model_job_executor_follows_the_environment():
    from animerec_assets.defs.automation.definitions import model_executor, model_job_for

    assert model_executor("prod") is k8s_job_executor
    assert model_executor("local") is None
    assert model_job_for("prod").tags == TRAINING_RUN_TAGS
    limit = instance_yaml()["concurrency"]["runs"]["tag_concurrency_limits"][0]
    assert {limit["key"]: limit["value"]} == TRAINING_RUN_TAGS


def test_code_location_runs_the_model_job_on_kubernetes_only_in_prod(
    animerec_home, prod_env, monkeypatch
):
    """The real code location (every stage merged, resources bound) in each environment."""
    from animerec_assets.definitions import build_definitions

    executors = {}
    for environment in ("local", "prod"):
        monkeypatch.setenv("ANIMEREC_ENV", environment)
        if environment == "prod":
            for name, value in prod_env.items():
                monkeypatch.setenv(name, value)
        definitions = build_definitions()
        executors[environment] = {
            name: definitions.resolve_job_def(name).executor_def
            for name in ("crawl_job", "transform_job", "model_job")
        }
    assert executors["prod"]["model_job"] is k8s_job_executor
    assert executors["local"]["model_job"].name != k8s_job_executor.name
    for environment in ("local", "prod"):
        assert executors[environment]["crawl_job"].name != k8s_job_executor.name
        assert executors[environment]["transform_job"].name != k8s_job_executor.name


# ------------------------------------------------------------------ Helm values


def test_helm_values_render_the_same_instance_as_dagster_k8s_yaml():
    values = helm_values()
    rendered = helm_run_launcher(values)
    result = validate_config(K8sRunLauncher.config_type(), rendered)
    assert result.success, result.errors
    ours = launcher_config()
    for key, value in ours.items():
        if key not in ("postgres_password_secret",):
            assert rendered.get(key) == value, key
    concurrency = values["concurrency"]
    assert concurrency["enabled"]
    runs = instance_yaml()["concurrency"]["runs"]
    assert concurrency["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    pools = instance_yaml()["concurrency"]["pools"]
    expected_pools = {"defaultLimit": pools["default_limit"], "granularity": pools["granularity"]}
    assert concurrency["pools"] == expected_pools
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    # run limits live in `concurrency` only: the chart refuses them in both places
    assert "tagConcurrencyLimits" not in coordinator["config"]["queuedRunCoordinator"]
    assert "maxConcurrentRuns" not in coordinator["config"]["queuedRunCoordinator"]
    for volume in rendered["volumes"]:
        to_model(volume, "V1Volume")
    for mount in rendered["volume_mounts"]:
        to_model(mount, "V1VolumeMount")
    to_model(rendered["resources"], "V1ResourceRequirements")


def test_helm_values_point_at_our_code_location_and_database():
    values = helm_values()
    user_code = values["dagster-user-deployments"]
    assert user_code["enabled"]
    (deployment,) = user_code["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[0] in ("-m", "--module-name")
    assert importlib.util.find_spec(args[1]) is not None
    assert args[1] == "animerec_assets.definitions"
    assert [ref["name"] for ref in deployment["envConfigMaps"]] == [CONFIG_MAP]
    assert [ref["name"] for ref in deployment["envSecrets"]] == [SECRET]
    to_model(deployment["resources"], "V1ResourceRequirements")
    # the chart's external PostgreSQL is the database DAGSTER_PG_URL names
    postgres = values["postgresql"]
    assert not postgres["enabled"] and not values["generatePostgresqlPasswordSecret"]
    url = sa.engine.make_url(pod_environment()["DAGSTER_PG_URL"])
    assert postgres["postgresqlScheme"] == url.drivername == "postgresql+psycopg2"
    assert postgres["postgresqlHost"] == url.host
    assert postgres["service"]["port"] == url.port
    assert postgres["postgresqlDatabase"] == url.database
    assert postgres["postgresqlUsername"] == url.username
    password_secret = find("Secret", values["global"]["postgresqlSecretName"])
    assert "postgresql-password" in password_secret["stringData"]
