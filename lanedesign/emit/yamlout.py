"""Multi-document YAML for manifests: stable key order, a short provenance header."""

from __future__ import annotations

from collections.abc import Iterable

import yaml


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Safe YAML; multi-line strings (Lua source) as literal blocks people can read."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_manifests(objects: Iterable[dict], header: str | None = None) -> str:
    """Objects as one multi-document YAML text; ``header`` becomes a leading comment."""
    body = yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False,
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
