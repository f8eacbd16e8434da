"""The one path from a design to a target's objects: load, merge, validate, target problems,
emit. The command line, the designer's Export tab and notebook 03 all call
``check_and_export``, so they accept and refuse the same designs with the same findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .codec import document_kinds
from .designfile import Loaded, load_design, parse_design
from .emit import TargetError, asm, emit, registry
from .findings import Finding, has_errors
from .model import LaneDesign
from .validate import validate


@dataclass(frozen=True)
class Exported:
    """What checking (and exporting) a design gave.

    ``design`` is ``None`` when it cannot be used (errors, or refused by the target);
    ``findings`` holds everything, reader and validator first, then ``refusals``, the
    target's problems; ``objects`` is empty unless a target was asked for and took the design.
    """

    design: LaneDesign | None
    findings: tuple[Finding, ...]
    target: str | None = None
    objects: tuple[dict, ...] = field(default=(), repr=False)
    refusals: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return self.design is not None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


def check_and_export(source: str | Path | Loaded | LaneDesign,
                     target: str | None = None, full_routes: bool = False,
                     with_gateway: bool = False) -> Exported:
    """Check ``source`` (a design file, a parsed file or a design), for ``target`` if given,
    and emit its objects when nothing stops it. Never raises on bad input.

    ``full_routes`` asks the target for its full form where it has one, ``with_gateway`` for
    the Gateway the ingress names too (``emit``)."""
    loaded = source if isinstance(source, Loaded) else (
        Loaded(source, ()) if isinstance(source, LaneDesign) else load_design(source))
    if loaded.design is None:
        return Exported(None, tuple(loaded.findings), target)
    design = loaded.design
    checked = validate(design)
    refusals: list[Finding] = []
    if target is not None and not has_errors(checked):
        refusals = registry.target(target).problems(design)
    findings = tuple(merge(loaded.findings, [*checked, *refusals]))
    if has_errors(list(findings)):
        return Exported(None, findings, target, refusals=tuple(refusals))
    if target is None:
        return Exported(design, findings)
    try:
        objects = emit(design, target, full_routes, with_gateway)
    except TargetError as exc:  # a target whose problems() missed a case still refuses
        return Exported(None, (*findings, exc.finding), target, refusals=(exc.finding,))
    return Exported(design, findings, target, tuple(objects))


def merge(parsed: Sequence[Finding], checked: Sequence[Finding]) -> list[Finding]:
    """The reader's findings, then the checks' ones on paths the reader did not flag."""
    # a field the reader already complained about (wrong type) reads as empty to the validator;
    # one finding per path is enough
    seen = {f.path for f in parsed}
    return [*parsed, *(f for f in checked if f.path not in seen)]


def design_from_text(content: str | bytes) -> Loaded:
    """A design from an uploaded file: a design file, or ASMSwimLaneGroup/ASMSwimLane YAML.

    ASM's is the reader that takes hand-written objects (every field checked, each problem a
    finding), as ``lanedesign import-asm`` does; text that is not YAML goes to the design
    reader, which says where it breaks.
    """
    asm_kinds = {kind for _, kind in asm.TARGET.kinds}
    if any(kind in asm_kinds for _, kind in document_kinds(content)):
        return asm.import_asm(content)
    return parse_design(content)
