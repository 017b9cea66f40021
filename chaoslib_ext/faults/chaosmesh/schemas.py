"""Chaos Mesh's real CRD schemas, shipped as package data (``crds/``, see its README for the source), to
check a manifest offline exactly as the API server would with Chaos Mesh installed."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jsonschema
import yaml

__all__ = ["CRD_SOURCE", "crd", "kinds_by_plural", "schema_errors"]

#: Where the CRDs come from (see crds/README.md).
CRD_SOURCE = "Chaos Mesh config/crd/bases at commit 608b61e7 (v2.8.3+), Apache-2.0"


@functools.cache
def _documents() -> tuple[dict[str, Any], ...]:
    folder = resources.files("chaoslib_ext.faults.chaosmesh").joinpath("crds")
    return tuple(
        yaml.safe_load(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    )


def crd(kind: str) -> dict[str, Any]:
    """The CRD document that defines ``kind`` (e.g. NetworkChaos); raises KeyError naming the kinds known."""
    for doc in _documents():
        if doc["spec"]["names"]["kind"] == kind:
            return doc
    known = ", ".join(sorted(d["spec"]["names"]["kind"] for d in _documents()))
    raise KeyError(f"no Chaos Mesh CRD for kind {kind!r} (accepted: {known})")


def kinds_by_plural() -> dict[str, str]:
    """``{plural: kind}`` of every shipped CRD, as the API server routes them."""
    return {d["spec"]["names"]["plural"]: d["spec"]["names"]["kind"] for d in _documents()}


@functools.cache
def _validator(kind: str) -> jsonschema.Draft7Validator:
    version = crd(kind)["spec"]["versions"][0]
    return jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Every way ``manifest`` breaks its CRD (apiVersion and openAPIV3Schema); [] when it validates."""
    kind = str(manifest.get("kind", ""))
    try:
        doc = crd(kind)
    except KeyError as exc:
        return [str(exc.args[0])]
    group, version = doc["spec"]["group"], doc["spec"]["versions"][0]["name"]
    errors = []
    if manifest.get("apiVersion") != f"{group}/{version}":
        errors.append(f"apiVersion {manifest.get('apiVersion')!r} is not {group}/{version}")
    errors += [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in _validator(kind).iter_errors(manifest)
    ]
    return errors
