"""Validate Gateway API objects against the real v1.6.1 CRD schemas, made strict, plus CEL rules.

The HTTPRoute ``openAPIV3Schema`` comes from
``../shared/schemas/gateway.networking.k8s.io_httproutes.yaml`` (the Gateway's, which
``--with-gateway`` emits, from ``..._gateways.yaml``) and is made strict the way
``istio_schema.strict`` does (unknown fields are errors, as with ``fieldValidation=Strict``).
A JSON-schema validator does not run the CRD's CEL rules (``x-kubernetes-validations``) nor
its list-map keys, so the ones the lane objects can meet are written out in ``cel_problems``.
The core ``v1`` Service has no CRD; ``SERVICE`` is the part of its schema the target uses, and
``cel_problems`` adds the API server's checks of its ports (unique names and numbers, a name
on each of several ports).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from istio_schema import LABEL, LABEL_KEY, LABEL_VALUE, METADATA, _whole, strict

HTTPROUTE_CRD = "gateway.networking.k8s.io_httproutes.yaml"
GATEWAY_CRD = "gateway.networking.k8s.io_gateways.yaml"  # with --with-gateway
CRDS = {"HTTPRoute": HTTPROUTE_CRD, "Gateway": GATEWAY_CRD}
DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# a container port's name, which a named targetPort is (IANA_SVC_NAME: 15 characters, a letter)
IANA_SVC_NAME = r"(?=.{1,15}\Z)(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?"

SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "Service"},
        "metadata": {**METADATA, "properties": {
            **METADATA["properties"],
            "name": {"type": "string", "maxLength": 63, "pattern": _whole(DNS1035)}}},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "ports"],
            "properties": {
                "selector": {
                    "type": "object", "minProperties": 1,
                    "propertyNames": {"pattern": _whole(LABEL_KEY)},
                    "additionalProperties": {"type": "string", "pattern": _whole(LABEL_VALUE)}},
                "ports": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["port"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 63, "pattern": _whole(LABEL)},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "targetPort": {"oneOf": [
                            {"type": "integer", "minimum": 1, "maximum": 65535},
                            {"type": "string", "pattern": _whole(IANA_SVC_NAME)}]},
                        "protocol": {"enum": ["TCP", "UDP", "SCTP"]},
                        "appProtocol": {"type": "string"}}}},
            },
        },
    },
}


# Ambient's labels: a Namespace, or the app's own Service, given with metadata only; applied
# server-side they only add labels (``istio.io/use-waypoint``). Anything else in them would be
# lanedesign writing to objects it does not own.
LABELS_ONLY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata"],
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"enum": ["Namespace", "Service"]},
        "metadata": {
            "type": "object", "additionalProperties": False, "required": ["name", "labels"],
            "properties": {
                "name": {"type": "string", "maxLength": 63, "pattern": _whole(DNS1123)},
                "namespace": {"type": "string", "maxLength": 63, "pattern": _whole(DNS1123)},
                "labels": METADATA["properties"]["labels"]}},
    },
    "if": {"properties": {"kind": {"const": "Service"}}},
    "then": {"properties": {"metadata": {"required": ["name", "namespace", "labels"]}}},
    "else": {"properties": {"metadata": {"not": {"required": ["namespace"]}}}},
}


def labels_only(obj: dict) -> bool:
    return obj.get("kind") == "Namespace" or (obj.get("kind") == "Service"
                                              and "spec" not in obj)


@functools.lru_cache(maxsize=4)
def _crd_schema(path: Path, kind: str = "HTTPRoute") -> dict:
    """The strict v1 schema of ``kind`` (HTTPRoute, Gateway) from its CRD file."""
    crd = yaml.load(path.read_text(encoding="utf-8"),
                    Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert crd["spec"]["names"]["kind"] == kind
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    schema = strict(served["v1"]["schema"]["openAPIV3Schema"])
    schema["properties"].update(apiVersion={"const": "gateway.networking.k8s.io/v1"},
                                kind={"const": kind}, metadata=METADATA)
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return schema


@functools.lru_cache(maxsize=4)
def validator(shared: Path, kind: str) -> jsonschema.protocols.Validator:
    if kind == "labels-only":
        schema: dict = LABELS_ONLY
    else:
        schema = SERVICE if kind == "Service" else _crd_schema(shared / "schemas" /
                                                                  CRDS[kind], kind)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(shared: Path, obj: dict) -> list[str]:
    """Every way ``obj`` breaks its strict schema, as ``path: message`` lines."""
    if obj.get("kind") not in ("Service", "HTTPRoute", "Gateway", "Namespace"):
        return [f"<root>: a kind the Gateway API target does not make: {obj.get('kind')!r}"]
    check = validator(shared, "labels-only" if labels_only(obj) else obj["kind"])
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(check.iter_errors(obj), key=lambda e: list(map(str, e.path)))]


def cel_problems(obj: dict) -> list[str]:
    """The HTTPRoute CRD's CEL rules and list-map keys that lane objects could break, and the
    spec's unique rule names (which no CEL rule enforces); for a Gateway, its listener rules;
    for a Service, the API server's checks of its ports."""
    if obj["kind"] == "Gateway":
        return _gateway_cel_problems(obj["spec"])
    if labels_only(obj):
        return []
    if obj["kind"] == "Service":
        return _service_port_problems(obj["spec"]["ports"])
    if obj["kind"] != "HTTPRoute":
        return []
    spec = obj["spec"]
    problems = []
    rules = spec.get("rules", [])
    # the API server defaults a rule without matches to one PathPrefix "/" match
    if sum(len(r.get("matches", [{}])) for r in rules) > 128:
        problems.append("more than 128 matches across the rules of a route")
    names = [r["name"] for r in rules if "name" in r]
    if len(set(names)) != len(names):
        problems.append("rule names are not unique")
    parents = [(p.get("group"), p.get("kind"), p.get("namespace"), p["name"])
               for p in spec.get("parentRefs", [])]
    if len(set(parents)) != len(parents):
        problems.append("two parentRefs to one parent need sectionNames")
    for i, rule in enumerate(rules):
        refs = [*rule.get("backendRefs", []),
                *(f.get("requestMirror", {}).get("backendRef") for f in rule.get("filters", [])
                  if f.get("requestMirror"))]
        for ref in refs:
            if ref.get("group", "") == "" and ref.get("kind", "Service") == "Service" and (
                    "port" not in ref):
                problems.append(f"rules[{i}]: Must have port for Service reference")
        for match in rule.get("matches", []):
            headers = [h["name"].lower() for h in match.get("headers", [])]
            if len(set(headers)) != len(headers):
                problems.append(f"rules[{i}]: a header named twice in one match")
            path = match.get("path")
            if path and path.get("type", "PathPrefix") in ("Exact", "PathPrefix"):
                problems += [f"rules[{i}]: path {path['value']!r}: {p}"
                             for p in _path_problems(path["value"])]
        filters = [*rule.get("filters", []),
                   *(f for b in rule.get("backendRefs", []) for f in b.get("filters", []))]
        for f in filters:
            problems += _filter_problems(i, f)
    return problems


def _gateway_cel_problems(spec: dict) -> list[str]:
    """The Gateway CRD's listener rules (CEL and the list-map key ``name``)."""
    listeners = spec.get("listeners", [])
    problems = []
    if len({ln["name"] for ln in listeners}) != len(listeners):
        problems.append("Listener name must be unique within the Gateway")
    combos = [(ln["port"], ln["protocol"], ln.get("hostname")) for ln in listeners]
    if len(set(combos)) != len(combos):
        problems.append("Combination of port, protocol and hostname must be unique")
    for ln in listeners:
        if ln["protocol"] in ("HTTP", "TCP", "UDP") and "tls" in ln:
            problems.append(f"listener {ln['name']}: tls must not be specified")
        if ln["protocol"] in ("TCP", "UDP") and ln.get("hostname"):
            problems.append(f"listener {ln['name']}: hostname must not be specified")
        if ln["protocol"] == "TLS" and not ln.get("tls", {}).get("mode"):
            problems.append(f"listener {ln['name']}: tls mode must be set")
    return problems


def _service_port_problems(ports: list[dict]) -> list[str]:
    """Kubernetes' validation of ``spec.ports``: names unique and required on each of several
    ports, one port per number and protocol."""
    out = []
    names = [p.get("name", "") for p in ports]
    if len(ports) > 1 and "" in names:
        out.append("ports: each of several ports needs a name")
    if len({n for n in names if n}) != len([n for n in names if n]):
        out.append("ports: two ports with one name")
    numbers = [(p["port"], p.get("protocol", "TCP")) for p in ports]
    if len(set(numbers)) != len(numbers):
        out.append("ports: two ports with one number and protocol")
    return out


def _path_problems(value: str) -> list[str]:
    out = []
    if not value.startswith("/"):
        out.append("not absolute")
    out += [f"contains {bad!r}" for bad in ("//", "/./", "/../", "%2f", "%2F", "#")
            if bad in value]
    out += [f"ends with {bad!r}" for bad in ("/..", "/.") if value.endswith(bad)]
    if not re.fullmatch(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+", value):
        out.append("invalid characters")
    return out


def _filter_problems(i: int, f: dict[str, Any]) -> list[str]:
    out = []
    kinds = {"RequestHeaderModifier": "requestHeaderModifier"}
    field = kinds.get(f["type"])
    if field is None:
        return [f"rules[{i}]: a filter type the target does not use: {f['type']}"]
    present = [k for k in f if k != "type"]
    if present != [field]:
        out.append(f"rules[{i}]: filter.{field} must be set, and only it, for {f['type']}")
    modifier = f.get(field, {})
    for op in ("set", "add"):
        names = [h["name"].lower() for h in modifier.get(op, [])]
        if len(set(names)) != len(names):
            out.append(f"rules[{i}]: a header named twice in {op}")
    return out


def with_defaults(shared: Path, obj: dict) -> dict:
    """``obj`` with the CRD schema's defaults filled in, as the API server stores it (a rule
    without matches gets one PathPrefix "/" match, a match without path gets that path...)."""
    import copy

    schema = _crd_schema(shared / "schemas" / HTTPROUTE_CRD)
    return _default(schema, copy.deepcopy(obj)) if obj.get("kind") == "HTTPRoute" else obj


def _default(schema: dict, value: Any) -> Any:
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value and "default" in sub:
                value[name] = json.loads(json.dumps(sub["default"]))
            if name in value:
                value[name] = _default(sub, value[name])
    elif isinstance(value, list) and "items" in schema:
        return [_default(schema["items"], v) for v in value]
    return value
