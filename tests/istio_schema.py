"""Validate objects against Istio's real CRD schemas, made strict, plus a few webhook rules.

The CRD ``openAPIV3Schema`` of the object's served version comes from
``../shared/schemas/istio-crds.yaml``. An apiserver would prune unknown fields silently; here
every object schema with ``properties`` gets ``additionalProperties: false`` (as
``fieldValidation=Strict`` would reject them), except where the CRD preserves unknown fields
(e.g. an EnvoyFilter patch value). CEL rules are not evaluated, so the semantic checks
Istio's webhook makes on lane objects are written out in ``webhook_problems``
(``istio-semantics.md`` §1.5-1.7, §8).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN = rf"{LABEL}(\.{LABEL})*"
LABEL_KEY = rf"({SUBDOMAIN}/)?([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?"


def _whole(pattern: str) -> str:
    """A JSON-schema pattern (searched) that must match the whole value; \\Z, since $ also
    matches before a trailing newline."""
    return rf"^(?:{pattern})\Z"


METADATA = {
    "type": "object",
    "required": ["name", "namespace", "labels"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _whole(SUBDOMAIN)},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _whole(LABEL)},
        "labels": {"type": "object", "propertyNames": {"pattern": _whole(LABEL_KEY)},
                   "additionalProperties": {"type": "string", "pattern": _whole(LABEL_VALUE)}},
    },
}

PLURALS = {"VirtualService": "virtualservices", "DestinationRule": "destinationrules",
           "EnvoyFilter": "envoyfilters", "Gateway": "gateways", "Telemetry": "telemetries"}


def strict(node: Any) -> Any:
    """A copy of a schema where every object with ``properties`` forbids other keys."""
    if isinstance(node, list):
        return [strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: ({name: strict(sub) for name, sub in v.items()} if k == "properties" else strict(v))
           for k, v in node.items()}
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


@functools.lru_cache(maxsize=4)
def _crds(path: Path) -> dict[str, dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        return {d["metadata"]["name"]: d for d in yaml.load_all(f, Loader=loader) if d}


@functools.lru_cache(maxsize=16)
def validator(shared: Path, api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """A strict validator for ``kind`` at ``api_version`` (it must be a served version)."""
    group, _, version = api_version.partition("/")
    crd = _crds(shared / "schemas" / "istio-crds.yaml")[f"{PLURALS[kind]}.{group}"]
    assert crd["spec"]["names"]["kind"] == kind
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    assert version in served, f"{api_version} is not served ({', '.join(served)})"
    schema = strict(served[version]["schema"]["openAPIV3Schema"])
    # the apiserver checks these itself; the CRD schema leaves them out
    schema["properties"].update(apiVersion={"const": api_version}, kind={"const": kind},
                                metadata=METADATA)
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(shared: Path, obj: dict) -> list[str]:
    """Every way ``obj`` breaks its strict CRD schema, as ``path: message`` lines."""
    check = validator(shared, obj.get("apiVersion", ""), obj.get("kind", ""))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(check.iter_errors(obj), key=lambda e: list(map(str, e.path)))]


def webhook_problems(obj: dict) -> list[str]:
    """What Istio's validating webhook would refuse in the lane objects (beyond the CRD)."""
    spec = obj["spec"]
    if obj["kind"] == "DestinationRule":
        names = [s["name"] for s in spec.get("subsets", [])]
        return [*(f"subset {n!r} is not a DNS-1123 label" for n in names
                  if not re.fullmatch(LABEL, n) or len(n) > 63),
                *(["duplicate subset names"] if len(set(names)) != len(names) else [])]
    if obj["kind"] == "Gateway":
        return _gateway_problems(spec)
    if obj["kind"] != "VirtualService":
        return []
    problems = []
    http = spec.get("http", [])
    if not http:
        problems.append("a VirtualService needs routes")
    if not spec.get("gateways") and "*" in spec["hosts"]:
        problems.append("hosts '*' on a mesh VirtualService")
    names = [r["name"] for r in http if "name" in r]
    if len(set(names)) != len(names):
        problems.append("duplicate route names")
    for i, route in enumerate(http):
        dests = route["route"]
        if len(dests) > 1 and (any(d.get("weight", 0) < 0 for d in dests)
                               or sum(d.get("weight", 0) for d in dests) <= 0):
            problems.append(f"http[{i}]: weights must be >= 0 with a total > 0")
        for block in route.get("match", []):
            matches = [*block.get("headers", {}).values(), block.get("uri", {})]
            for m in matches:
                regex = m.get("regex")
                if regex is not None and (not regex or len(regex) > 1024):
                    problems.append(f"http[{i}]: regex empty or longer than 1024")
                if "prefix" in m and not m["prefix"] and m is not block.get("uri"):
                    problems.append(f"http[{i}]: empty header prefix")
            problems += [f"http[{i}]: header name {n!r} is not lowercase"
                         for n in block.get("headers", {}) if n != n.lower()]
        for d in dests:
            for op, values in d.get("headers", {}).get("request", {}).items():
                for name, value in values.items():
                    if name.startswith(":"):
                        problems.append(f"http[{i}]: pseudo-header {name} in {op}")
                    if "%" in value.replace("%%", ""):
                        problems.append(f"http[{i}]: lone % in {name}: {value!r}")
    return problems


def _gateway_problems(spec: dict) -> list[str]:
    """Istio's Gateway validation for the parts an exported Gateway has: servers with hosts
    (`*`, `*.domain`, a DNS name, each optionally `namespace/`), unique port names."""
    problems = []
    servers = spec.get("servers", [])
    if not servers:
        problems.append("a Gateway needs servers")
    names = [s.get("port", {}).get("name") for s in servers]
    if len(set(names)) != len(names):
        problems.append("duplicate server port names")
    for i, server in enumerate(servers):
        if not server.get("hosts"):
            problems.append(f"servers[{i}]: no hosts")
        for host in server.get("hosts", []):
            name = host.rpartition("/")[2]
            if name != "*" and not re.fullmatch(rf"(\*\.)?{SUBDOMAIN}", name):
                problems.append(f"servers[{i}]: host {host!r} is not a DNS name or wildcard")
    return problems
