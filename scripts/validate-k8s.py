#!/usr/bin/env python3
"""Validate Kubernetes objects against Kubernetes' own OpenAPI schemas, strictly: an unknown (misspelt or misplaced)
field is an error, as it would be with `kubectl apply --validate=strict`, whereas the API server itself would drop it
silently. Uses kubernetes-validate's strict schemas (the venv's requirements-dev.txt pins it).

    .venv/bin/python scripts/validate-k8s.py <kubernetes version, e.g. 1.33> < objects.json

Reads a JSON list of objects; prints a JSON list with one entry per object: {"object": "<kind>/<name>", "errors": [...]}
where each error is "<path>: <message>". A kind without a schema is an error too (nothing passes unchecked)."""
from __future__ import annotations

import json
import sys

import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError


def check(obj: dict, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(root)"
        return [f"{path}: {e.message}"]
    except SchemaNotFoundError as e:
        return [f"(schema): {e.message}"]
    return []


def main() -> int:
    version = sys.argv[1]
    objects = json.load(sys.stdin)
    results = []
    for obj in objects:
        name = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        results.append({"object": name, "errors": check(obj, version)})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
