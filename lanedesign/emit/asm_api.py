"""ASM's API names, shared by the ASM emitter (``asm.py``) and reader (``asm_import.py``).

Field names and constants follow ASM's public Go types (``asm-lanes.md`` §1).
"""

from __future__ import annotations

API_VERSION = "istio.alibabacloud.com/v1"
GROUP_KIND = "ASMSwimLaneGroup"
LANE_KIND = "ASMSwimLane"
GROUP_LABEL = "swimlane-group"  # how an ASMSwimLane joins its group
RULE_BASED, WEIGHTED = "rule_based", "weighted"  # ASM's Go constants
GATEWAY_TYPE = "ASM"  # the other Go constant, "ingress", is a Kubernetes Ingress
BAGGAGE = "baggage"  # traceHeader value that selects the baggage method
