"""What a cluster target must offer before a run creates anything: the API answers, Chaos Mesh's CRDs
are installed and established, this identity may create, read, list and delete each kind of object in
each namespace the run would use (a SelfSubjectAccessReview per kind, namespace and verb), and may read
the abort lock's Lease in the chaos namespace (every run checks it), and may list the pods and events
of the namespaces the run watches (controls.cluster: the cluster timeline, the per-pod scrape)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kubernetes import client as k8s
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.kube import api_client
from chaoslib_ext.faults.chaosmesh.objects import GROUP, LOCK_GROUP, LOCK_RESOURCE, PLURALS
from chaoslib_ext.target import ChaosMeshSettings

__all__ = ["VERBS", "cluster_checks"]

#: what a run does with its objects: create them, read their status, list by label (cleanup), delete
VERBS = ("create", "get", "list", "delete")
_TIMEOUT_S = 10.0

#: (check, subject, ok, detail)
Row = tuple[str, str, bool, str]


def _status_reason(exc: Any) -> str:
    return f"{getattr(exc, 'status', '?')} {getattr(exc, 'reason', '')}".strip()


def cluster_checks(
    settings: ChaosMeshSettings, objects: Iterable[tuple[str, str]], watched: Iterable[str] = ()
) -> list[Row]:
    """One row per check; ``objects`` are the (kind, namespace) pairs the run would create, ``watched``
    the namespaces of the target's pod selectors."""
    try:
        api = api_client(settings.kubeconfig, settings.context)
    except (TargetError, ConfigException, OSError, ValueError, TypeError) as exc:  # no or a broken kubeconfig
        return [("kubernetes API", settings.context or "(current context)", False, f"no client: {exc}")]
    where = api.configuration.host
    try:
        version = k8s.VersionApi(api).get_code(_request_timeout=_TIMEOUT_S)
    except k8s.ApiException as exc:
        return [("kubernetes API", where, False, f"refused: {_status_reason(exc)}")]
    except (HTTPError, OSError) as exc:
        return [("kubernetes API", where, False, f"unreachable: {exc}")]
    rows: list[Row] = [("kubernetes API", where, True, f"version {version.git_version}")]
    pairs = sorted(set(objects))
    rows += [_crd_row(api, kind) for kind in sorted({kind for kind, _ in pairs})]
    rows += [_access_row(api, kind, namespace) for kind, namespace in pairs]
    lock = (LOCK_GROUP, LOCK_RESOURCE, settings.namespace, ("get",), f"the abort lock's Lease in {settings.namespace}")
    rows.append(_review_row(api, *lock))
    for namespace in sorted(set(watched)):
        for resource in ("pods", "events"):
            rows.append(_review_row(api, "", resource, namespace, ("list",), f"{resource} in {namespace} (watched)"))
    return rows


def _crd_row(api: k8s.ApiClient, kind: str) -> Row:
    name = f"{PLURALS[kind]}.{GROUP}"
    try:
        crd = k8s.ApiextensionsV1Api(api).read_custom_resource_definition(name, _request_timeout=_TIMEOUT_S)
    except k8s.ApiException as exc:
        detail = "not installed: install Chaos Mesh" if exc.status == 404 else _status_reason(exc)
        return ("Chaos Mesh CRD", name, False, detail)
    except (HTTPError, OSError) as exc:
        return ("Chaos Mesh CRD", name, False, f"unreachable: {exc}")
    conditions = {c.type: c.status for c in (crd.status.conditions or [])} if crd.status else {}
    established = conditions.get("Established") == "True"
    return ("Chaos Mesh CRD", name, established, "established" if established else f"conditions: {conditions}")


def _access_row(api: k8s.ApiClient, kind: str, namespace: str) -> Row:
    return _review_row(api, GROUP, PLURALS[kind], namespace, VERBS, f"{kind} in {namespace}")


def _review_row(
    api: k8s.ApiClient, group: str, resource: str, namespace: str, verbs: Sequence[str], subject: str
) -> Row:
    """Whether the run may do every one of ``verbs`` on ``resource`` (SelfSubjectAccessReview each)."""
    denied = []
    for verb in verbs:
        review = k8s.V1SelfSubjectAccessReview(
            api_version="authorization.k8s.io/v1",
            kind="SelfSubjectAccessReview",
            spec=k8s.V1SelfSubjectAccessReviewSpec(
                resource_attributes=k8s.V1ResourceAttributes(
                    group=group, resource=resource, namespace=namespace, verb=verb
                )
            ),
        )
        try:
            answer = k8s.AuthorizationV1Api(api).create_self_subject_access_review(review, _request_timeout=_TIMEOUT_S)
        except k8s.ApiException as exc:
            return ("RBAC", subject, False, f"access review refused: {_status_reason(exc)}")
        except (HTTPError, OSError) as exc:
            return ("RBAC", subject, False, f"access review failed: {exc}")
        status = answer.status
        if status is None or not status.allowed:
            denied.append(f"{verb} ({(status.reason if status else None) or 'no reason given'})")
    if denied:
        return ("RBAC", subject, False, "denied: " + "; ".join(denied))
    return ("RBAC", subject, True, "allowed: " + ", ".join(verbs))
