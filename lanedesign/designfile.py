"""Design files: YAML text <-> ``LaneDesign`` (the format of ``design-file.md``).

Reading never raises on user input: whatever is wrong with the text (not YAML, binary junk,
wrong types, unknown fields) becomes a ``Finding`` with a path, and as much of the design as
could be read is still returned, so the validator can say the rest.
Writing is deterministic: the contract's key order, defaults left out, short scalar lists in
flow style, so a saved design diffs well in git.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .findings import Finding, make
from .model import (
    MATCH_KINDS,
    METHODS,
    MODES,
    STRATEGIES,
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    StringMatch,
)

API_VERSION = "lanedesign/v1alpha1"
KIND = "LaneDesign"

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Loaded:
    """The result of reading a design: the design (``None`` if unreadable) and findings."""

    design: LaneDesign | None
    findings: tuple[Finding, ...] = ()


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
def load_design(path: str | Path) -> Loaded:
    """Read a design file; an unreadable path is a finding (LD007), never an exception."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Loaded(None, (make("LD007", str(path), f"cannot read {path}: {reason}"),))
    return parse_design(data)


def parse_design(text: str | bytes) -> Loaded:
    """Parse design YAML text (or bytes) into a design plus findings."""
    data, finding = parse_yaml(text)
    if finding is not None:
        return Loaded(None, (finding,))
    return design_from_dict(data)


def parse_yaml(text: str | bytes) -> tuple[Any, Finding | None]:
    """One YAML document from text, or an LD001 finding saying why not."""
    return _parse_yaml(text, lambda t: yaml.load(t, Loader=_SafeLoader))


def parse_yaml_documents(text: str | bytes) -> tuple[list[Any], Finding | None]:
    """Every document of a multi-document YAML text (empty ones left out), or an LD001 finding."""
    data, finding = _parse_yaml(
        text, lambda t: [d for d in yaml.load_all(t, Loader=_SafeLoader) if d is not None])
    return data or [], finding


def _parse_yaml(text: str | bytes, load: Callable[[str], Any]) -> tuple[Any, Finding | None]:
    if isinstance(text, bytes):
        if b"\x00" in text:
            return None, make("LD001", "", "the file holds binary data (NUL bytes), not YAML")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, make("LD001", "", f"the file is not UTF-8 text (byte {exc.start})")
    try:
        return load(text), None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, make("LD001", "", f"not valid YAML{where}: {exc.problem or exc}")
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        return None, make("LD001", "", f"not valid YAML: {type(exc).__name__}: {exc}")


def design_from_dict(data: Any) -> Loaded:
    """Build a design from already-parsed YAML/JSON data."""
    reader = FieldReader()
    design = reader.design(data)
    return Loaded(design, tuple(reader.findings))


class FieldReader:
    """Reads plain data into model values, recording a finding for each problem.

    Public so that other readers of user YAML (ASM import) report problems the same way.
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    # -- generic helpers --------------------------------------------------------------
    def _add(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        self.findings.append(make(code, path, message, hint))

    def _mapping(self, value: Any, path: str, required: bool = False) -> dict | None:
        if value is None:
            if required:
                self._add("LD003", path, f"`{path}` is missing")
            return None
        if not isinstance(value, Mapping):
            self._add("LD004", path, f"`{path}` must be a mapping, not {typename(value)}")
            return None
        return dict(value)

    def _fields(self, raw: dict, path: str, known: tuple[str, ...]) -> None:
        for key in raw:
            if key not in known:
                self._add(
                    "LD005", _join(path, key), f"unknown field `{key}` in `{path}`",
                    f"Known fields here: {', '.join(known)}.",
                )

    def _str(self, raw: dict, key: str, path: str, default: Any = "") -> Any:
        value = raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self._add("LD004", _join(path, key), f"`{key}` must be a string, not "
                      f"{typename(value)}", "Quote the value in YAML.")
            return default
        return value

    def _choice(self, raw: dict, key: str, path: str, allowed: tuple[str, ...],
                default: str) -> str:
        value = self._str(raw, key, path, default)
        if value not in allowed:
            self._add("LD006", _join(path, key), f"`{key}` is {value!r}; allowed: "
                      f"{', '.join(allowed)}", f"Use one of: {', '.join(allowed)}.")
            return default
        return value

    def _str_list(self, raw: dict, key: str, path: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        where = _join(path, key)
        if not isinstance(value, list):
            self._add("LD004", where, f"`{key}` must be a list of strings, not "
                      f"{typename(value)}", f"Write `{key}: [a, b]`.")
            return None
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            else:
                self._add("LD004", f"{where}[{i}]", f"`{key}` entries must be strings, not "
                          f"{typename(item)}", "Quote the value in YAML.")
        return tuple(out)

    def _str_map(self, raw: dict, key: str, path: str, value_type: type = str,
                 ) -> tuple[tuple[str, Any], ...] | None:
        where = _join(path, key)
        value = self._mapping(raw.get(key), where)
        if value is None:
            return None
        out = []
        for k, v in value.items():
            if not isinstance(k, str):
                self._add("LD004", where, f"key {k!r} in `{key}` must be a string",
                          "Quote the key in YAML.")
            elif not _is_type(v, value_type):
                self._add("LD004", _join(where, k), f"`{key}.{k}` must be a "
                          f"{value_type.__name__}, not {typename(v)}",
                          "Quote the value in YAML." if value_type is str else None)
            else:
                out.append((k, v))
        return tuple(out)

    def _list_of_mappings(self, raw: dict, key: str, path: str,
                          read: Callable[[dict, str], Any], required: bool = False) -> tuple:
        value = raw.get(key)
        where = _join(path, key)
        if value is None:
            if required:
                self._add("LD003", where, f"`{where}` is missing")
            return ()
        if not isinstance(value, list):
            self._add("LD004", where, f"`{key}` must be a list, not {typename(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            item_path = f"{where}[{i}]"
            if isinstance(item, Mapping):
                out.append(read(dict(item), item_path))
            else:
                self._add("LD004", item_path, f"each entry of `{key}` must be a mapping, not "
                          f"{typename(item)}", "Write entries as `- name: ...`.")
        return tuple(out)

    # -- the design -------------------------------------------------------------------
    def design(self, data: Any) -> LaneDesign | None:
        if not isinstance(data, Mapping):
            what = "an empty file" if data is None else typename(data)
            self._add("LD002", "", f"expected a LaneDesign mapping, got {what}")
            return None
        data = dict(data)
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            self._add("LD002", "apiVersion", f"expected apiVersion {API_VERSION!r} and kind "
                      f"{KIND!r}, got {data.get('apiVersion')!r} and {data.get('kind')!r}")
            return None
        self._fields(data, "", ("apiVersion", "kind", "metadata", "spec"))
        metadata = self._mapping(data.get("metadata"), "metadata", required=True) or {}
        self._fields(metadata, "metadata", ("name",))
        spec = self._mapping(data.get("spec"), "spec", required=True)
        if spec is None:
            return None
        return self._spec(self._str(metadata, "name", "metadata"), spec)

    def _spec(self, name: str, spec: dict) -> LaneDesign:
        p = "spec"
        self._fields(spec, p, ("namespace", "mode", "routeHeader", "passThrough", "baseline",
                               "fallback", "services", "lanes", "ingress"))
        pass_through = self._mapping(spec.get("passThrough"), "spec.passThrough") or {}
        self._fields(pass_through, "spec.passThrough", ("method", "traceHeader", "baggageKey"))
        ingress_raw = self._mapping(spec.get("ingress"), "spec.ingress")
        return LaneDesign(
            name=name,
            namespace=self._str(spec, "namespace", p, "default"),
            mode=self._choice(spec, "mode", p, MODES, "loose"),
            route_header=self._str(spec, "routeHeader", p, "x-asm-prefer-tag"),
            pass_through=PassThrough(
                method=self._choice(pass_through, "method", "spec.passThrough", METHODS,
                                    "baggage"),
                trace_header=self._str(pass_through, "traceHeader", "spec.passThrough", None),
                baggage_key=self._str(pass_through, "baggageKey", "spec.passThrough", None),
            ),
            baseline=self._str(spec, "baseline", p),
            fallback=self._str_map(spec, "fallback", p) or (),
            services=self._list_of_mappings(spec, "services", p, self._service, required=True),
            lanes=self._list_of_mappings(spec, "lanes", p, self._lane, required=True),
            ingress=None if ingress_raw is None else self._ingress(ingress_raw, "spec.ingress"),
        )

    def _service(self, raw: dict, path: str) -> Service:
        self._fields(raw, path, ("name", "calls", "namespace", "port", "propagates", "selector"))
        port = raw.get("port")
        if port is not None and not (_is_type(port, int) and 1 <= port <= 65535):
            self._add("LD006" if _is_type(port, int) else "LD004", _join(path, "port"),
                      f"`port` must be an integer 1-65535, not {port!r}")
            port = None
        propagates = raw.get("propagates", True)
        if not isinstance(propagates, bool):
            self._add("LD004", _join(path, "propagates"), "`propagates` must be true or false")
            propagates = True
        return Service(
            name=self._str(raw, "name", path),
            calls=self._str_list(raw, "calls", path) or (),
            namespace=self._str(raw, "namespace", path, None),
            port=port,
            propagates=propagates,
            selector=self._str_map(raw, "selector", path),
        )

    def _lane(self, raw: dict, path: str) -> Lane:
        self._fields(raw, path, ("name", "labels", "services"))
        return Lane(
            name=self._str(raw, "name", path),
            labels=self._str_map(raw, "labels", path) or (),
            services=self._str_list(raw, "services", path) or (),
        )

    def _ingress(self, raw: dict, path: str) -> Ingress:
        self._fields(raw, path, ("gateway", "hosts", "entry", "strategy", "rules", "match",
                                 "weights", "default"))
        rules = None
        if raw.get("rules") is not None:
            rules = self._list_of_mappings(raw, "rules", path, self._rule)
        hosts = self._str_list(raw, "hosts", path)
        return Ingress(
            gateway=self._str(raw, "gateway", path, "istio-system/ingressgateway"),
            hosts=("*",) if hosts is None else hosts,
            entry=self._str(raw, "entry", path),
            strategy=self._choice(raw, "strategy", path, STRATEGIES, "rules"),
            rules=rules,
            match=self._request_match(raw.get("match"), _join(path, "match")),
            weights=self._str_map(raw, "weights", path, int) or (),
            default=self._str(raw, "default", path, None),
        )

    def _rule(self, raw: dict, path: str) -> IngressRule:
        self._fields(raw, path, ("lane", "match"))
        return IngressRule(
            lane=self._str(raw, "lane", path),
            match=self._request_match(raw.get("match"), _join(path, "match")),
        )

    def _request_match(self, value: Any, path: str) -> RequestMatch | None:
        raw = self._mapping(value, path)
        if raw is None:
            return None
        self._fields(raw, path, ("uri", "headers"))
        headers = []
        for name, match in (self._mapping(raw.get("headers"), _join(path, "headers")) or {}
                            ).items():
            where = _join(_join(path, "headers"), str(name))
            if not isinstance(name, str):
                self._add("LD004", where, f"header name {name!r} must be a string")
                continue
            string_match = self._string_match(match, where)
            if string_match is not None:
                headers.append((name, string_match))
        uri = None
        if raw.get("uri") is not None:
            uri = self._string_match(raw.get("uri"), _join(path, "uri"))
        return RequestMatch(uri=uri, headers=tuple(headers))

    def _string_match(self, value: Any, path: str) -> StringMatch | None:
        raw = self._mapping(value, path, required=True)
        if raw is None:
            return None
        kinds = [k for k in MATCH_KINDS if k in raw]
        self._fields(raw, path, MATCH_KINDS)
        if len(kinds) != 1:
            self._add("LD006", path, f"a match needs exactly one of exact, prefix, regex; "
                      f"found {len(kinds)}", "Write e.g. `{exact: s2}`.")
            return None
        kind = kinds[0]
        value = raw[kind]
        if not isinstance(value, str):
            self._add("LD004", _join(path, kind), f"`{kind}` must be a string, not "
                      f"{typename(value)}", "Quote the value in YAML.")
            return None
        return StringMatch(kind, value)


def _is_type(value: Any, wanted: type) -> bool:
    # bool is an int in Python but never a weight, port or name in a design
    return isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))


def typename(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def design_to_dict(design: LaneDesign) -> dict[str, Any]:
    """The design as plain data in the contract's key order, defaults left out."""
    spec: dict[str, Any] = {
        "namespace": design.namespace,
        "mode": design.mode,
        "routeHeader": design.route_header,
        "passThrough": _drop_none({
            "method": design.pass_through.method,
            "traceHeader": design.pass_through.trace_header,
            "baggageKey": design.pass_through.baggage_key,
        }),
        "baseline": design.baseline,
    }
    if design.fallback:
        spec["fallback"] = _flow(dict(design.fallback))
    spec["services"] = [_service_to_dict(s) for s in design.services]
    spec["lanes"] = [
        {"name": lane.name, "labels": _flow(dict(lane.labels)), "services": _flow(lane.services)}
        for lane in design.lanes
    ]
    if design.ingress is not None:
        spec["ingress"] = _ingress_to_dict(design.ingress)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": design.name},
        "spec": spec,
    }


def _service_to_dict(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {"name": service.name}
    if service.calls:
        out["calls"] = _flow(service.calls)
    if service.namespace is not None:
        out["namespace"] = service.namespace
    if service.port is not None:
        out["port"] = service.port
    if not service.propagates:
        out["propagates"] = False
    if service.selector is not None:
        out["selector"] = _flow(dict(service.selector))
    return out


def _ingress_to_dict(ingress: Ingress) -> dict[str, Any]:
    out: dict[str, Any] = {
        "gateway": ingress.gateway,
        "hosts": _flow(ingress.hosts),
        "entry": ingress.entry,
        "strategy": ingress.strategy,
    }
    if ingress.rules is not None:
        out["rules"] = [_drop_none({"lane": r.lane, "match": _match_to_dict(r.match)})
                        for r in ingress.rules]
    if ingress.match is not None:
        out["match"] = _match_to_dict(ingress.match)
    if ingress.weights:
        out["weights"] = _flow(dict(ingress.weights))
    if ingress.default is not None:
        out["default"] = ingress.default
    return out


def _match_to_dict(match: RequestMatch | None) -> dict[str, Any] | None:
    if match is None:
        return None
    out: dict[str, Any] = {}
    if match.uri is not None:
        out["uri"] = _flow({match.uri.kind: match.uri.value})
    if match.headers:
        out["headers"] = {name: _flow({m.kind: m.value}) for name, m in match.headers}
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _FlowList(list):
    pass


class _FlowDict(dict):
    pass


_FLOW_LIMIT = 10  # longer lists go one item per line, which diffs better


def _flow(value: Any) -> Any:
    if isinstance(value, dict):
        return _FlowDict(value) if len(value) <= _FLOW_LIMIT else dict(value)
    return _FlowList(value) if len(value) <= _FLOW_LIMIT else list(value)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(
    _FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                flow_style=True))
_Dumper.add_representer(
    dict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items()))


def dump_design(design: LaneDesign) -> str:
    """The design as YAML text in a stable form."""
    return yaml.dump(design_to_dict(design), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=100)


def save_design(design: LaneDesign, path: str | Path) -> None:
    Path(path).write_text(dump_design(design), encoding="utf-8")
