"""Which lane targets a cluster can take: the Istio and ASM API groups it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .client import Cluster
from .plan import GROUP_KINDS, TARGET_GROUPS


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
        lines += [f"  {g}: {', '.join(v) if v else 'not served'}" for g, v in self.groups.items()]
        lines.append(f"  targets it can take: {', '.join(self.targets) or 'none'}")
        return "\n".join(lines)


def target_kinds(target: str) -> tuple[tuple[str, str], ...]:
    """The (apiVersion, kind) pairs a target may emit."""
    if target not in TARGET_GROUPS:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGET_GROUPS)}")
    return GROUP_KINDS[TARGET_GROUPS[target]]


def discover(cluster: Cluster) -> Discovery:
    """Ask the API server which mesh groups, versions and kinds it serves."""
    groups = {group: cluster.served_versions(group) for group in GROUP_KINDS}
    targets = tuple(
        target for target in TARGET_GROUPS
        if all(cluster.resource(api, kind) for api, kind in target_kinds(target))
    )
    return Discovery(cluster.describe(), groups, targets)
