"""YAML text <-> plain data: the only module that imports ``yaml``.

Reading turns whatever is wrong with the text (binary junk, not UTF-8, not YAML) into an
LD001 finding instead of raising. Writing is deterministic: design files keep short lists in
flow style (``flow``) so they diff well in git; manifests are multi-document YAML with a short
provenance header, Lua source as literal blocks people can read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import yaml

from .findings import Finding, make
from .version import __version__

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# -- reading ------------------------------------------------------------------------------
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


def document_kinds(text: str | bytes) -> list[tuple[Any, Any]]:
    """(apiVersion, kind) of each mapping document, ``kind: List`` items included; empty
    when the text is not YAML (the reader that gets it then says where)."""
    documents, finding = parse_yaml_documents(text)
    if finding is not None:
        return []
    kinds = []
    for doc in documents:
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else None
        for item in items if isinstance(items, list) else [doc]:
            if isinstance(item, dict):
                kinds.append((item.get("apiVersion"), item.get("kind")))
    return kinds


# -- design files ---------------------------------------------------------------------------
class _FlowList(list):
    pass


class _FlowDict(dict):
    pass


_FLOW_LIMIT = 10  # longer lists go one item per line, which diffs better


def flow(value: Any) -> Any:
    """``value`` (a list or dict) marked to be written on one line when it is short."""
    if isinstance(value, dict):
        return _FlowDict(value) if len(value) <= _FLOW_LIMIT else dict(value)
    return _FlowList(value) if len(value) <= _FLOW_LIMIT else list(value)


class _DesignDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


_DesignDumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_DesignDumper.add_representer(
    _FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                flow_style=True))
_DesignDumper.add_representer(
    dict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items()))


def dump_design_data(data: dict[str, Any]) -> str:
    """A design's plain data (``designfile.design_to_dict``) as YAML text in a stable form."""
    return yaml.dump(data, Dumper=_DesignDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


# -- manifests ----------------------------------------------------------------------------
class _ManifestDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Safe YAML; multi-line strings (Lua source) as literal blocks people can read."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _str)


def dump_manifests(objects: Iterable[dict], header: str | None = None) -> str:
    """Objects as one multi-document YAML text; ``header`` becomes a leading comment."""
    body = yaml.dump_all(list(objects), Dumper=_ManifestDumper, sort_keys=False,
                         default_flow_style=False, explicit_start=True, width=100)
    if header:
        comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
        return comment + body
    return body


def object_filename(obj: dict) -> str:
    """``<namespace>/<kind>-<name>.yaml``, or ``<kind>-<name>.yaml`` for cluster-scoped objects.

    Kinds hold no ``-`` and namespaces get their own folder, so no two objects share a file
    (``a-g``/``b`` and ``a``/``g-b`` would, were the parts joined by ``-``).
    """
    meta = obj.get("metadata", {})
    name = f"{str(obj.get('kind', 'object')).lower()}-{meta.get('name', '')}.yaml"
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else name


def manifest_header(design_name: str, target: str, count: int, source: str | None = None,
                    ) -> str:
    """The provenance comment every export carries: what, for which design, made by what."""
    origin = f" from {source}" if source else ""
    return (f"{count} {target} objects for lane design {design_name!r}, generated by "
            f"lanedesign {__version__}{origin}")


# -- other YAML ----------------------------------------------------------------------------
def dump_sorted(data: Any) -> str:
    """Plain data as block YAML with sorted keys: two objects compare line by line."""
    # libyaml's dumper when there: about 10x faster for a large plan's diffs
    return yaml.dump(data, Dumper=_BaseDumper, sort_keys=True, width=100)


def load_plain(text: str) -> Any:
    """One YAML document, or ``None`` when the text is not YAML (a kubeconfig, say)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
