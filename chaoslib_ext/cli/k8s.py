"""``chaosllm k8s``: run an experiment inside a Kubernetes cluster.

    chaosllm k8s manifests EXPERIMENT [--workers N] [--namespace NS] [--image IMAGE] [--name NAME] [--out FILE]
        the objects (chaoslib_ext.deploy.manifests), validated offline against the Kubernetes API
        schemas; apply them with `kubectl apply -f FILE`
    chaosllm k8s release --job NAME --namespace NS [--when-listening HOST:PORT]
        (the controller pod's second container) un-suspend the workers' Job once the master listens
    chaosllm k8s fetch --name NAME --namespace NS --image IMAGE --out DIR
        copy the run directory out of its results volume

Exit 0 done, 2 bad input or an API server that refused (the reason printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]

DEFAULT_IMAGE = "chaoslib-ext:0.1.0"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "k8s", help="run an experiment inside a Kubernetes cluster", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    made = verbs.add_parser("manifests", help="write the Kubernetes objects of an in-cluster run")
    made.add_argument("experiment", type=Path)
    made.add_argument("--workers", type=int, default=2, help="load workers (default 2; 0: the controller loads)")
    made.add_argument("--namespace", default="chaosllm", help="where the run's objects go (default chaosllm)")
    made.add_argument("--image", default=DEFAULT_IMAGE, help=f"an image with chaoslib-ext (default {DEFAULT_IMAGE})")
    made.add_argument("--name", help="the run's name, prefix of every object (default: the file's stem)")
    made.add_argument("--out", type=Path, help="write here (default: standard output)")
    made.set_defaults(handler=_manifests)
    rel = verbs.add_parser("release", help="un-suspend the workers' Job once the master listens")
    rel.add_argument("--job", required=True)
    rel.add_argument("--namespace", required=True)
    rel.add_argument("--when-listening", metavar="HOST:PORT")
    rel.add_argument("--timeout", type=float, default=600.0)
    rel.add_argument("--kubeconfig", help="default: in-cluster, or KUBECONFIG")
    rel.set_defaults(handler=_release)
    get = verbs.add_parser("fetch", help="copy a run directory out of its results volume")
    get.add_argument("--name", required=True)
    get.add_argument("--namespace", default="chaosllm")
    get.add_argument("--image", default=DEFAULT_IMAGE)
    get.add_argument("--out", type=Path, required=True)
    get.add_argument("--timeout", type=float, default=300.0)
    get.add_argument("--kubeconfig", help="default: KUBECONFIG, or in-cluster")
    get.add_argument("--context")
    get.set_defaults(handler=_fetch)


def _manifests(args: argparse.Namespace) -> int:
    from chaoslib_ext.deploy.manifests import K8S_VERSION, Cluster, manifests, name_for, schema_problems

    if args.workers < 0:
        print("chaosllm k8s manifests: --workers must be 0 or more", file=sys.stderr)
        return EXIT_INVALID
    cluster = Cluster(args.name or name_for(args.experiment), args.namespace, args.image, args.workers)
    try:
        objects = manifests(args.experiment, cluster)
    except (SpecError, ChaosLLMError, OSError) as exc:
        print(f"chaosllm k8s manifests: {args.experiment}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        problems = schema_problems(objects)
    except ImportError:
        print("chaosllm k8s manifests: the Kubernetes schemas are missing: pip install 'chaoslib-ext[k8s]'",
              file=sys.stderr)  # fmt: skip
        return EXIT_INVALID
    if problems:
        for problem in problems:
            print(f"chaosllm k8s manifests: Kubernetes {K8S_VERSION} refuses {problem}", file=sys.stderr)
        return EXIT_INVALID
    text = yaml.safe_dump_all(objects, sort_keys=False)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(objects)} objects (valid for Kubernetes {K8S_VERSION}) in {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    return EXIT_OK


def _release(args: argparse.Namespace) -> int:
    from chaoslib_ext.deploy.cluster import release

    try:
        release(args.job, args.namespace, args.when_listening, args.timeout, args.kubeconfig)
    except ChaosLLMError as exc:
        print(f"chaosllm k8s release: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"released job {args.namespace}/{args.job}")
    return EXIT_OK


def _fetch(args: argparse.Namespace) -> int:
    from chaoslib_ext.deploy.cluster import fetch

    try:
        files = fetch(args.name, args.namespace, args.image, args.out, args.timeout, args.kubeconfig, args.context)
    except ChaosLLMError as exc:
        print(f"chaosllm k8s fetch: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{len(files)} files of run {args.name} in {args.out}")
    return EXIT_OK
