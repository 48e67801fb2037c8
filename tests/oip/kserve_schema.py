"""Checks a KServe manifest against the InferenceService schema, as the kserve SDK's models carry it
(generated from KServe's CRDs, with the Kubernetes client's models for the pod's parts): every
field a known one of its object, of its type, at every depth, and each object built by the SDK's
own constructor, which refuses a required field left out. Run in .venv-clients, where the SDK is:

    .venv-clients/bin/python tests/oip/kserve_schema.py max-image-memorability-kserve.yaml

It prints a JSON list of what is wrong: empty when the manifest is valid.
"""
import json
import re
import sys

import kubernetes.client.models as kubernetes_models
import yaml
from kserve import models as kserve_models

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def model_class(name):
    return getattr(kserve_models, name, None) or getattr(kubernetes_models, name, None)


def problems(value, kind, where):
    """What in ``value`` does not fit the type ``kind`` (an SDK type string)."""
    if kind in PRIMITIVES:
        fits = isinstance(value, PRIMITIVES[kind]) and not (kind == "int" and isinstance(value, bool))
        return [] if fits else [f"{where}: {value!r} is not {kind}"]
    if match := re.fullmatch(r"[lL]ist\[(.+)\]", kind):  # the kserve models' spelling, and Kubernetes'
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in problems(item, match.group(1), f"{where}[{i}]")]
    if match := re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", kind):
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        inner = match.group(1) or match.group(2)
        return [p for key, item in value.items() for p in problems(item, inner, f"{where}.{key}")]
    if kind in ("ResourceQuantity", "IntOrString") or kind.startswith("Quantity"):
        return [] if isinstance(value, (str, int, float)) else [f"{where}: {value!r} is not a quantity"]
    cls = model_class(kind)
    if cls is None:
        return [f"{where}: the SDK has no type {kind}"]
    if not isinstance(value, dict):
        return [f"{where}: not an object ({kind})"]
    fields = {json_key: cls.openapi_types[attr] for attr, json_key in cls.attribute_map.items()}
    found = [f"{where}.{key}: no such field of {kind}" for key in value if key not in fields]
    try:  # the SDK's constructor refuses a required field left out
        cls(**{attr: value[key] for attr, key in cls.attribute_map.items() if key in value})
    except (ValueError, TypeError) as error:
        found.append(f"{where}: {error}")
    return found + [p for key, item in value.items() if key in fields
                    for p in problems(item, fields[key], f"{where}.{key}")]


def main(path):
    found = []
    with open(path) as manifest:
        for doc in yaml.safe_load_all(manifest):
            if doc.get("kind") != "InferenceService":
                found.append(f"{doc.get('kind')}: not an InferenceService")
                continue
            found += problems(doc, "V1beta1InferenceService", "InferenceService")
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
