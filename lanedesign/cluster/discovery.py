"""Which lane targets a cluster can take: the API groups of the registered targets it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..emit import registry
from .client import Cluster


@dataclass(frozen=True)
class Discovery:
    """Served versions of the mesh API groups, and the targets whose kinds are all served."""

    cluster: dict[str, str | None]
    groups: dict[str, list[str]]
    targets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.cluster, "groups": self.groups, "targets": list(self.targets)}

    def summary(self) -> str:
        where = self.cluster.get("context") or self.cluster.get("server")
        lines = [f"{where}:"]
        lines += [f"  {g or 'core'}: {', '.join(v) if v else 'not served'}"
                  for g, v in self.groups.items()]
        lines.append(f"  targets it can take: {', '.join(self.targets) or 'none'}")
        return "\n".join(lines)


def target_kinds(target: str) -> tuple[tuple[str, str], ...]:
    """The (apiVersion, kind) pairs a target may emit; ``ValueError`` for unknown targets."""
    return registry.target(target).kinds


def discover(cluster: Cluster) -> Discovery:
    """Ask the API server which mesh groups, versions and kinds it serves."""
    groups = {group: cluster.served_versions(group) for group in registry.group_kinds()}
    targets = tuple(
        t.name for t in registry.targets()
        if all(cluster.resource(api, kind) for api, kind in t.kinds)
    )
    return Discovery(cluster.describe(), groups, targets)
