"""The Kubernetes objects that run an experiment inside the cluster: ``chaosllm k8s manifests``.

    ConfigMap       chaosllm-<name>            the experiment (load.workers and load.master set for the
                                               cluster) and its target file (in-cluster credentials)
    ServiceAccount  chaosllm-<name>            the controller's identity
    Role            chaosllm-<name>            in the target's chaos namespace: the Chaos Mesh kinds the
                                               experiment's faults create, with the verbs the driver
                                               uses (create, get, list, delete), nothing more
    Role            chaosllm-<name>-release    in the run's namespace: patch the workers' Job, by name
    RoleBinding     (one per Role)
    PersistentVolumeClaim chaosllm-<name>-results   the run directory, written before the Job ends
    Service         chaosllm-<name>-master     the Locust master and its join port, for the workers
    Job             chaosllm-<name>            the controller: ``chaosllm run`` into /results, and a
                                               ``chaosllm k8s release`` container that un-suspends the
                                               workers once the master listens
    Job             chaosllm-<name>-workers    N ``chaosllm worker`` pods, created suspended: they start
                                               together when released, and leave when the run ends

Every object is validated offline against the Kubernetes API schemas of ``K8S_VERSION``
(``kubernetes-validate``'s schema set, strict: unknown fields refused) before anything is written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.experiment.faultplan import planned_faults
from chaoslib_ext.experiment.loader import load_source
from chaoslib_ext.experiment.validate import ACTIVITY_MODULES
from chaoslib_ext.experiment.variables import configuration_values, substitute
from chaoslib_ext.faults.chaosmesh.objects import GROUP, LOCK_GROUP, LOCK_LEASE, LOCK_RESOURCE, PLURALS
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.run.context import TARGET_KEY
from chaoslib_ext.secrets import SecretRef, is_credential_header
from chaoslib_ext.target import SANDBOX, load_target

__all__ = ["K8S_VERSION", "MASTER_PORT", "Cluster", "manifests", "schema_problems"]

#: the Kubernetes release whose API schemas the manifests are checked against
K8S_VERSION = "1.35.0"
MASTER_PORT = 5557
EXPERIMENT_DIR = "/chaosllm/experiment"
RESULTS_DIR = "/results"
LABEL = "app.kubernetes.io/managed-by"


@dataclass(frozen=True)
class Cluster:
    """Where and how the experiment runs in the cluster."""

    name: str  # DNS-1123 label, the prefix of every object
    namespace: str
    image: str  # an image with chaoslib-ext installed (`pip install chaoslib-ext`)
    workers: int = 2
    results_size: str = "1Gi"


def _label(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return cleaned[:40].rstrip("-") or "run"


def _experiment_for_cluster(path: Path, workers: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The experiment with its load on ``workers`` workers behind the master's Service, the name of its
    target file and the target (without a local kubeconfig: in the cluster the ServiceAccount's)."""
    source = load_source(path)
    experiment = copy.deepcopy(source.data)
    blocks = [e for e in experiment.get("extensions") or [] if isinstance(e, dict) and e.get("name") == "chaosllm"]
    if not blocks or not isinstance(blocks[0].get("load"), dict):
        raise SpecError("extensions[chaosllm].load", "the experiment has no load block to run in the cluster")
    if workers:
        blocks[0]["load"].update({"workers": workers, "master": f"0.0.0.0:{MASTER_PORT}"})
    variables = configuration_values(experiment)
    _check_load(substitute(blocks[0]["load"], variables))
    ref = str(variables.get(TARGET_KEY) or SANDBOX)
    if ref == SANDBOX:
        raise SpecError(f"configuration.{TARGET_KEY}", "the sandbox cannot run in a cluster", "a target file")
    target_path = Path(ref) if Path(ref).is_absolute() else path.parent / ref
    target = yaml.safe_load(target_path.read_text(encoding="utf-8"))
    if workers and (target.get("proxy") or {}).get("links"):
        raise SpecError("--workers", f"target {target_path.name} puts the run's fault proxy in front of its "
                        "services (proxy.links): it runs in the controller pod, where the workers' load would "
                        "not pass through it", "0 (the controller pod loads, through its proxy)")  # fmt: skip
    if isinstance(target.get("chaos_mesh"), dict):
        for key in ("kubeconfig", "context"):
            target["chaos_mesh"].pop(key, None)
    experiment.setdefault("configuration", {})[TARGET_KEY] = target_path.name
    return experiment, target_path.name, target


def _check_load(raw: Mapping[str, Any]) -> None:
    """The load as the cluster will run it parses, and carries no credential in clear: the experiment goes
    into a ConfigMap, which is no place for one (give it as ``{env: NAME}`` from a Secret)."""
    spec = LoadSpec.parse(raw, "load")
    for name, value in spec.headers.items():
        if not isinstance(value, SecretRef) and is_credential_header(name):
            raise SpecError(f"load.headers.{name}", "a credential in clear would be written into a ConfigMap",
                            "{env: NAME} (from a Secret in the pod) or {secret: NAME}")  # fmt: skip


def _chaos_plurals(experiment: Mapping[str, Any], target_file: Path) -> list[str]:
    """The Chaos Mesh plurals the experiment's faults create on the target (planned offline)."""
    target = load_target(str(target_file))
    kinds = {
        obj.get("kind")
        for plan in planned_faults(experiment, configuration_values(experiment), target, ACTIVITY_MODULES)
        for obj in plan.objects
    }
    return sorted(PLURALS[k] for k in kinds if k in PLURALS)


def manifests(experiment_path: Path, cluster: Cluster) -> list[dict[str, Any]]:
    """Every object of an in-cluster run of ``experiment_path``, in the order to apply them."""
    experiment, target_name, target = _experiment_for_cluster(experiment_path, cluster.workers)
    plurals = _chaos_plurals(experiment, experiment_path.parent / target_name)
    chaos_ns = str((target.get("chaos_mesh") or {}).get("namespace") or cluster.namespace)
    n, ns = cluster.name, cluster.namespace
    meta = {"namespace": ns, "labels": {LABEL: "chaoslib-ext", "chaosllm/run": n}}
    files = {"experiment.yaml": yaml.safe_dump(experiment, sort_keys=False), target_name: yaml.safe_dump(target)}
    chaos_rules = [{"apiGroups": [GROUP], "resources": plurals, "verbs": ["create", "get", "list", "delete"]},
                   {"apiGroups": [LOCK_GROUP], "resources": [LOCK_RESOURCE], "resourceNames": [LOCK_LEASE],
                    "verbs": ["get"]},
                   {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list"]}]  # fmt: skip
    release_rules = [
        {"apiGroups": ["batch"], "resources": ["jobs"], "resourceNames": [f"chaosllm-{n}-workers"],
         "verbs": ["get", "patch"]}
    ]  # fmt: skip
    claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": cluster.results_size}}}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"chaosllm-{n}", **meta}, "data": files},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"chaosllm-{n}", **meta}},
        _role(f"chaosllm-{n}", chaos_ns, meta, chaos_rules),
        _binding(f"chaosllm-{n}", chaos_ns, meta, ns),
        _role(f"chaosllm-{n}-release", ns, meta, release_rules),
        _binding(f"chaosllm-{n}-release", ns, meta, ns),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"chaosllm-{n}-results", **meta},
            "spec": claim,
        },
        _service(cluster, meta),
        _controller_job(cluster, meta),
    ]
    if cluster.workers:
        objects.append(_workers_job(cluster, meta))
    return objects


def _role(name: str, namespace: str, meta: Mapping[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    metadata = {**meta, "name": name, "namespace": namespace}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata, "rules": rules}


def _binding(name: str, namespace: str, meta: Mapping[str, Any], sa_namespace: str) -> dict[str, Any]:
    sa = name.removesuffix("-release")
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {**meta, "name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}],
    }


def _service(cluster: Cluster, meta: Mapping[str, Any]) -> dict[str, Any]:
    ports = [{"name": "locust", "port": MASTER_PORT}, {"name": "join", "port": MASTER_PORT + 1}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"chaosllm-{cluster.name}-master", **meta},
        "spec": {"selector": {"chaosllm/run": cluster.name, "chaosllm/role": "controller"}, "ports": ports},
    }


def _container(name: str, image: str, args: list[str], **extra: Any) -> dict[str, Any]:
    security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return {"name": name, "image": image, "command": ["chaosllm"], "args": args, "securityContext": security, **extra}


def _controller_job(cluster: Cluster, meta: Mapping[str, Any]) -> dict[str, Any]:
    n = cluster.name
    run = _container(
        "run",
        cluster.image,
        ["run", f"{EXPERIMENT_DIR}/experiment.yaml", "--out", f"{RESULTS_DIR}/run"],
        volumeMounts=[
            {"name": "experiment", "mountPath": EXPERIMENT_DIR, "readOnly": True},
            {"name": "results", "mountPath": RESULTS_DIR},
        ],
        ports=[{"containerPort": MASTER_PORT}, {"containerPort": MASTER_PORT + 1}],
    )
    release = _container(
        "release",
        cluster.image,
        ["k8s", "release", "--job", f"chaosllm-{n}-workers", "--namespace", cluster.namespace,
         "--when-listening", f"127.0.0.1:{MASTER_PORT + 1}"],
    )  # fmt: skip
    pod = {
        "metadata": {"labels": {**meta["labels"], "chaosllm/role": "controller"}},
        "spec": {
            "serviceAccountName": f"chaosllm-{n}",
            "restartPolicy": "Never",
            "containers": [run, release] if cluster.workers else [run],
            "volumes": [{"name": "experiment", "configMap": {"name": f"chaosllm-{n}"}},
                        {"name": "results", "persistentVolumeClaim": {"claimName": f"chaosllm-{n}-results"}}],
        },
    }  # fmt: skip
    # backoffLimit 0: a run is never repeated by Kubernetes (its faults were removed; rerun by hand)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"chaosllm-{n}", **meta},
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400, "template": pod}}  # fmt: skip


def _workers_job(cluster: Cluster, meta: Mapping[str, Any]) -> dict[str, Any]:
    n = cluster.name
    worker = _container(
        "worker", cluster.image, ["worker", "--master", f"chaosllm-{n}-master:{MASTER_PORT}", "--timeout", "600"]
    )
    pod = {
        "metadata": {"labels": {**meta["labels"], "chaosllm/role": "worker"}},
        "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False, "containers": [worker]},
    }
    spec = {"suspend": True, "parallelism": cluster.workers, "completions": cluster.workers,
            "backoffLimit": 0, "ttlSecondsAfterFinished": 86400, "template": pod}  # fmt: skip
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"chaosllm-{n}-workers", **meta},
        "spec": spec,
    }


def schema_problems(objects: list[dict[str, Any]], version: str = K8S_VERSION) -> list[str]:
    """What the Kubernetes API schemas of ``version`` refuse in ``objects`` (strict: unknown fields too)."""
    import kubernetes_validate  # type: ignore[import-untyped]  # the schema set (the k8s extra)

    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{obj.get('kind')}: no schema for it in Kubernetes {version}: {exc}")
    return problems


def name_for(experiment_path: Path) -> str:
    """The default run name: the experiment file's stem as a DNS-1123 label."""
    return _label(experiment_path.stem)
