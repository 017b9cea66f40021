"""Chaos Mesh's real CRD schemas (../shared/chaos-mesh-crds, Chaos Mesh v2.8.3+), to check manifests against."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).parents[2] / "shared" / "chaos-mesh-crds"


@functools.cache
def crd(kind: str) -> dict[str, Any]:
    """The CRD document that defines ``kind`` (e.g. NetworkChaos)."""
    for path in CRD_DIR.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if doc["spec"]["names"]["kind"] == kind:
            return doc
    raise KeyError(f"no CRD for {kind} in {CRD_DIR}")


def plural(kind: str) -> str:
    return crd(kind)["spec"]["names"]["plural"]


def kinds_by_plural() -> dict[str, str]:
    out = {}
    for path in CRD_DIR.glob("*.yaml"):
        names = yaml.safe_load(path.read_text())["spec"]["names"]
        out[names["plural"]] = names["kind"]
    return out


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Every way ``manifest`` breaks its CRD's openAPIV3Schema; [] when it validates."""
    doc = crd(manifest.get("kind", ""))
    group = doc["spec"]["group"]
    version = doc["spec"]["versions"][0]
    errors = []
    if manifest.get("apiVersion") != f"{group}/{version['name']}":
        errors.append(f"apiVersion {manifest.get('apiVersion')!r} is not {group}/{version['name']}")
    validator = jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])
    errors += [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
    return errors
