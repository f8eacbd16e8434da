"""HTML for what ``lanedesign.cluster`` returns: discovery, plans, apply results, imports, errors.

Pure functions from the package's results to HTML (and ``attempt``, which puts a failure on
screen); the Cluster panel only places them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TypeVar

import ipywidgets as W

from ..cluster import ApplyResult, Change, ClusterError, Discovery, ImportResult, Plan, Step
from .common import message
from .export import findings_message

T = TypeVar("T")
ACTION_COLOURS = {"create": "#e6f4ea", "update": "#e8f1fa", "unchanged": "#eeeeee",
                  "prune": "#fff3cd", "conflict": "#f8d7da", "rejected": "#f8d7da",
                  "adopt": "#efe6f7"}


def failure(exc: Exception, kind: str = "error") -> str:
    """A failed cluster call as a message: the typed error and what to do, never a traceback.

    ``ClusterError`` text is redacted of credentials by the package; other exceptions are
    bugs, shown by type and message so they can be reported.
    """
    if not isinstance(exc, ClusterError):
        return message(f"Unexpected {type(exc).__name__}: {exc}", kind)
    hint = f"<br><i>{html.escape(exc.hint)}</i>" if exc.hint else ""
    return message(f"{html.escape(str(exc))}{hint}", kind, raw=True)


def attempt(out: W.HTML, call: Callable[[], T]) -> T | None:
    """``call()``, or None with its failure shown in ``out``: the UI never shows a traceback."""
    try:
        return call()
    except Exception as exc:  # the edge of the UI: any failure becomes a message
        out.value = failure(exc)
        return None


def where(cluster: dict[str, str | None]) -> str:
    """'context prod (https://...)' for a ``describe()`` dict."""
    context, server = cluster.get("context"), cluster.get("server")
    return f"context {context} ({server})" if context else str(server or "the cluster")


def discovery_html(found: Discovery, target: str) -> str:
    """What the cluster serves, and whether it can take ``target``."""
    groups = "".join(f"<li><code>{html.escape(group)}</code>: "
                     f"{html.escape(', '.join(versions)) if versions else 'not served'}</li>"
                     for group, versions in found.groups.items())
    can = ", ".join(found.targets) or "none"
    text = (f"Connected to {html.escape(where(found.cluster))}."
            f"<ul style='margin:2px 0'>{groups}</ul>Targets it can take: <b>{can}</b>.")
    if target in found.targets:
        return message(text, "ok", raw=True)
    return message(f"{text} It cannot take <b>{target}</b>: its custom resources are not "
                   "installed there (Diff names the missing kinds).", "warning", raw=True)


def chip(action: str, text: str = "") -> str:
    """An action as a coloured label (``text`` instead of the action's name if given)."""
    return (f'<span class="ld-chip ld-action" style="background:{ACTION_COLOURS[action]}">'
            f"{html.escape(text or action)}</span>")


def counts_html(plan: Plan) -> str:
    return "".join(chip(action, f"{n} {action}") for action, n in plan.counts().items() if n)


def findings_html(plan: Plan) -> str:
    """The plan's findings about the cluster (other owners' routing objects, a missing
    gateway), each with its fix: the same findings `lanedesign diff` prints."""
    if not plan.findings:
        return ""
    items = "".join(f"<li><b>{html.escape(f.code)}</b> {html.escape(f.severity)} "
                    f"{html.escape(f.path)}: {html.escape(f.message)}<br><i>fix:</i> "
                    f"{html.escape(f.hint)}</li>" for f in plan.findings)
    return f'<ul class="ld-findings">{items}</ul>'


def plan_status(plan: Plan) -> str:
    """One message saying what the plan means for Apply, then the plan's findings."""
    return _plan_message(plan) + findings_html(plan)


def _plan_message(plan: Plan) -> str:
    counts = counts_html(plan)
    target = html.escape(where(plan.cluster))
    if plan.refusals and not plan.of("conflict", "rejected"):
        return message(f"{counts}<br><b>Blocked:</b> <i>adopt</i> takes over nothing unless "
                       "the design carries the team's routing exactly (below: what differs). "
                       "Read it into the design first (<code>lanedesign import-cluster "
                       "--adopt</code>), then Diff again.", "error", raw=True)
    if plan.overlap_blocked and not plan.of("conflict", "rejected"):
        return message(f"{counts}<br><b>Blocked:</b> {len(plan.overlaps)} object(s) of other "
                       "owners route the hosts of this design (below: what Istio would keep "
                       "and what is lost). Remove them or hand them over; tick <i>adopt</i> "
                       "and Diff again to take over those whose routing the design carries "
                       "(<i>remove</i> hands them back); or tick <i>allow overlap</i> and Diff "
                       "again to apply anyway.", "error", raw=True)
    if plan.blocked:
        return message(f"{counts}<br><b>Blocked:</b> nothing can be applied while a conflict or "
                       "rejection remains. A conflict is an object lanedesign does not own, or "
                       "a field another field manager set (tick <i>force conflicts</i> and Diff "
                       "again to take such fields over); a rejection is the API server's "
                       "verdict on the object.", "error", raw=True)
    if plan.in_sync:
        return message(f"{counts}<br>In sync with {target}: nothing to apply.", "ok", raw=True)
    prune = ("<br>Prune candidates belong to this lane group and are no longer emitted; they "
             "are deleted only with <i>prune</i> ticked.") if plan.of("prune") else ""
    return message(f"{counts}<br>Server dry run against {target}: review the changes below, "
                   f"then confirm and Apply.{prune}", "info", raw=True)


def diff_html(lines: tuple[str, ...]) -> str:
    """A unified diff with added and removed lines coloured."""
    def line(text: str) -> str:
        css = {"+": "ld-add", "-": "ld-del", "@": "ld-hunk"}.get(text[:1], "")
        if text.startswith(("+++", "---")):
            css = "ld-hunk"
        return f'<span class="{css}">{html.escape(text.rstrip())}</span>'

    return f'<pre class="ld-yaml ld-diff">{chr(10).join(map(line, lines))}</pre>'


def _detail(change: Change) -> str:
    reason = html.escape(change.reason)
    if not change.diff:
        return reason
    label = "field diff" if change.action == "update" else "the new object"
    return (f"{reason}<details><summary>{label} ({len(change.diff)} lines)</summary>"
            f"{diff_html(change.diff)}</details>")


def plan_table(plan: Plan) -> str:
    """Every object with its action and, unfolding, its field diff."""
    if not plan.changes:
        return ""
    rows = "".join(f"<tr><td>{chip(c.action)}</td><td>{html.escape(str(c.ref))}</td>"
                   f"<td>{_detail(c)}</td></tr>" for c in plan.changes)
    rows += "".join(f"<tr><td>{chip('adopt')}</td><td>{html.escape(str(a.foreign))}</td>"
                    f"<td>the team's object: recorded on {html.escape(str(a.ours))}, deleted "
                    "once that routes</td></tr>" for a in plan.adoptions)
    return ('<table class="ld-plan"><thead><tr><th style="width:90px">action</th>'
            '<th style="width:38%">object</th><th>details</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def steps_summary(steps: list[Step]) -> str:
    """'10 step(s): 8 apply, 2 delete' for the confirmation line."""
    counts = {verb: sum(s.verb == verb for s in steps) for verb in ("apply", "delete")}
    return f"{len(steps)} step(s): " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def _step_list(title: str, steps: tuple[Step, ...]) -> str:
    items = "".join(f"<li>{html.escape(s.phase)}: {html.escape(s.text())}</li>" for s in steps)
    return f"{title}<ul style='margin:2px 0'>{items or '<li>none</li>'}</ul>"


def result_html(result: ApplyResult) -> str:
    """What apply did; after a failure, what was and was not applied and how to converge."""
    target = html.escape(where(result.plan.cluster))
    status = result.status
    if status == "applied":
        return message(_step_list(f"Applied {len(result.done)} step(s) to {target}:",
                                  result.done), "ok", raw=True)
    if status == "unchanged":
        return message(f"Nothing written: {target} already matched the design.", "ok")
    if status == "blocked":
        return message("Blocked by conflicts or rejections: nothing was applied.", "error")
    failed = result.failed.text() if result.failed else "a step"
    hint = f"<br><i>{html.escape(result.error.hint)}</i>" if result.error and \
        result.error.hint else ""
    return message(
        f"<b>Stopped at {html.escape(failed)}</b>: {html.escape(str(result.error))}{hint}"
        f"{_step_list('Applied:', result.done)}{_step_list('Not applied:', result.pending)}"
        "Every state between two steps keeps the subsets the routes use, so the mesh kept "
        "serving. Fix the cause, then Diff and Apply again to converge.", "error", raw=True)


def proposal_html(result: ImportResult) -> str:
    """A proposed design: its shape, the importer's notes, its findings, its YAML."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    notes = f"<ul style='margin:2px 0'>{notes}</ul>" if notes else ""
    if result.design is None:
        return message(f"Nothing to import.{notes}", "warning", raw=True)
    head = result.summary().splitlines()[0]
    parts = [message(f"Proposed {html.escape(head)}{notes}", "info", raw=True)]
    if result.findings:
        parts.append(findings_message("Its findings say what Kubernetes could not tell:",
                                      result.findings))
    parts.append(f"<details><summary>the design file</summary><pre class='ld-yaml'>"
                 f"{html.escape(result.yaml())}</pre></details>")
    return "".join(parts)
