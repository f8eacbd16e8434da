"""Talk to a cluster: discover what it serves, diff, apply make-before-break, import.

The API for the notebook and the CLI::

    cluster = connect(context="prod")            # or connect(in_cluster=True)
    objects = emit(design, "istio")
    plan = diff(cluster, objects, design.name)   # server dry run of every object
    print(plan.summary())                        # overlaps: other owners' routing objects
    result = apply(cluster, plan, prune=True, on_progress=print)
    print(result.summary())
    plan = diff(cluster, objects, design.name, design=design, adopt=True)  # take over
    print(remove(cluster, design.name).summary())  # hand back, delete the lane group
    proposal = import_design(cluster, ["shop"], label_key="version")

Results are plain frozen dataclasses with ``to_dict()`` and ``summary()``; failures are
``ClusterError`` subclasses carrying the facts and a hint, never a credential.
"""

from __future__ import annotations

from .adopt import ADOPTED, Adoption
from .apply import DEFAULT_SETTLE_SECONDS, PHASES, ApplyResult, Progress, Step, apply, plan_steps
from .client import DEFAULT_CONCURRENCY, FIELD_MANAGER, Cluster, ObjectRef, Resource
from .config import connect, contexts
from .discovery import Discovery, discover, target_kinds
from .errors import (
    ApiError,
    ClusterError,
    ConfigError,
    StalePlan,
    TargetNotServed,
    Unreachable,
)
from .importer import (
    ImportResult,
    design_from_istio,
    design_from_workloads,
    import_design,
    import_owned,
)
from .overlaps import Overlap, find_overlaps
from .plan import Change, Plan, diff, owned_objects
from .remove import RemoveResult, remove

__all__ = [
    "ADOPTED",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_SETTLE_SECONDS",
    "FIELD_MANAGER",
    "PHASES",
    "Adoption",
    "ApiError",
    "ApplyResult",
    "Change",
    "Cluster",
    "ClusterError",
    "ConfigError",
    "Discovery",
    "ImportResult",
    "ObjectRef",
    "Overlap",
    "Plan",
    "Progress",
    "RemoveResult",
    "Resource",
    "StalePlan",
    "Step",
    "TargetNotServed",
    "Unreachable",
    "apply",
    "connect",
    "contexts",
    "design_from_istio",
    "design_from_workloads",
    "diff",
    "discover",
    "find_overlaps",
    "import_design",
    "import_owned",
    "owned_objects",
    "plan_steps",
    "remove",
    "target_kinds",
]
