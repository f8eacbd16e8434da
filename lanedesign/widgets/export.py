"""Export: the data plane, manifests for every target (preview, files, download); save and
load designs."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as W

from .. import examples
from ..codec import dump_manifests, manifest_header
from ..designfile import Loaded, dump_design, save_design
from ..emit import registry
from ..files import FilesWritten, export_files
from ..findings import Finding
from ..model import DATA_PLANES, LaneDesign
from ..pipeline import check_and_export, design_from_text
from .common import Panel, button, heading, help_text, message
from .state import DesignState

# The preview shows this many objects. A large mesh's manifests are megabytes of YAML (seconds
# to write, and all of it sent to the browser on every redraw), so beyond this the full text
# is made only when asked for: the download is prepared on a click, files written on one.
PREVIEW_OBJECTS = 60


def target_options() -> list[tuple[str, str]]:
    """(label, name) of every registered target, for the target buttons."""
    return [(t.label, t.name) for t in registry.targets()]


_last: list[tuple[LaneDesign, str, bool, bool, tuple[list[dict] | None, str]]] = []


def manifests(design: LaneDesign, target: str, full_routes: bool = False,
              with_gateway: bool = False) -> tuple[list[dict] | None, str]:
    """The target's objects, or None and an HTML message listing every reason there are none.

    The last answer is kept (for this very design object, which is immutable): the Export and
    Cluster tabs both ask after every edit, and a large mesh takes a while to emit. The
    objects are shared, so callers must not change them.
    """
    if _last and _last[0][0] is design and _last[0][1:4] == (target, full_routes, with_gateway):
        return _last[0][4]
    found = _manifests(design, target, full_routes, with_gateway)
    _last[:] = [(design, target, full_routes, with_gateway, found)]
    return found


def _manifests(design: LaneDesign, target: str, full_routes: bool,
               with_gateway: bool) -> tuple[list[dict] | None, str]:
    checked = check_and_export(design, target, full_routes=full_routes,
                               with_gateway=with_gateway)
    if checked.ok:
        return list(checked.objects), ""
    if checked.refusals:
        return None, findings_message(f"{registry.target(target).label} cannot express this "
                                      "design:", checked.refusals)
    return None, findings_message(f"Fix the design's errors before exporting to {target}:",
                                  checked.errors)


def manifest_text(design: LaneDesign, target: str, objects: list[dict]) -> str:
    """All objects as one multi-document YAML text with a provenance header."""
    return dump_manifests(objects, _header(design, target, objects))


def _header(design: LaneDesign, target: str, objects: list[dict]) -> str:
    return manifest_header(design.name, target, len(objects))


def write_manifests(design: LaneDesign, target: str, objects: list[dict],
                    folder: Path) -> FilesWritten:
    """One YAML file per object in ``folder`` (created if needed), and the files lanedesign
    wrote there before for objects no longer emitted removed, as ``lanedesign export --out``
    does (``files.export_files``)."""
    return export_files(objects, folder, _header(design, target, objects), design.name, target)


def load_text(content: bytes) -> Loaded:
    """A design from a design file, or from ASMSwimLaneGroup/ASMSwimLane YAML."""
    return design_from_text(content)


def findings_message(title: str, findings: Sequence[Finding]) -> str:
    items = "".join(f"<li><b>{html.escape(f.code)}</b> <code>{html.escape(f.path)}</code>: "
                    f"{html.escape(f.message)} <i>{html.escape(f.hint)}</i></li>"
                    for f in findings)
    kind = "error" if any(f.severity == "error" for f in findings) else "warning"
    return message(f"{html.escape(title)}<ul style='margin:2px 0'>{items}</ul>", kind, raw=True)


def download_link(text: str, filename: str, label: str) -> str:
    """An HTML link that downloads ``text`` as ``filename`` (no server round trip)."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (f'<a download="{html.escape(filename)}" href="data:application/x-yaml;base64,{data}"'
            f' style="margin-right:16px">⬇ {html.escape(label)}</a>')


DATA_PLANES_HELP = (
    "<table class='ld-data-planes' style='font-size:12px;border-collapse:collapse;"
    "margin-bottom:8px'>"
    "<tr><th></th><th style='text-align:left;padding:0 12px'>sidecar</th>"
    "<th style='text-align:left;padding:0 12px'>ambient</th></tr>"
    "<tr><td><b>who routes</b></td><td style='padding:0 12px'>the caller's sidecar, on every "
    "call</td><td style='padding:0 12px'>a waypoint, only for Services labelled "
    "<code>istio.io/use-waypoint</code> (the export adds the labels; without one, calls reach "
    "every version)</td></tr>"
    "<tr><td><b>targets</b></td><td style='padding:0 12px'>Istio, ASM, Gateway API</td>"
    "<td style='padding:0 12px'>Gateway API (waypoints ignore EnvoyFilter)</td></tr>"
    "<tr><td><b>lane context</b></td><td style='padding:0 12px'>baggage: the Lua filter keeps "
    "the route header in step</td><td style='padding:0 12px'>the apps forward the route "
    "header or the <code>baggage</code> member themselves; no traceId</td></tr>"
    "</table>")


class ExportPanel(Panel):
    title = "Export"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        # the data plane is part of the design (spec.dataPlane): an edit, undoable like any
        self.data_plane = W.ToggleButtons(options=[(p, p) for p in DATA_PLANES],
                                          description="data plane",
                                          style={"button_width": "90px"},
                                          tooltips=["Istio sidecars beside every pod",
                                                    "Istio ambient: ztunnel and waypoints"])
        self.data_plane.observe(lambda change: self.edit(
            f"data plane {change['new']}", lambda d: d.with_data_plane(change["new"])), "value")
        self.data_planes_help = W.HTML(DATA_PLANES_HELP)
        self.target = W.ToggleButtons(options=target_options(), style={"button_width": "150px"})
        self.target.observe(lambda _: self.refresh(), "value")
        self.full_routes = W.Checkbox(description="a route for every lane", indent=False,
                                      tooltip="Istio: every VirtualService lists every lane, "
                                              "also those its default route serves already")
        self.full_routes.observe(lambda _: self.refresh(), "value")
        self.with_gateway = W.Checkbox(description="the ingress Gateway too", indent=False,
                                       tooltip="also emit the Gateway the ingress names "
                                               "(a stock mesh has none)")
        self.with_gateway.observe(lambda _: self.refresh(), "value")
        self.status = W.HTML()
        self.preview = W.HTML(layout=W.Layout(max_height="330px", overflow="auto",
                                              border="1px solid #ddd", padding="4px"))
        self.folder = W.Text(description="folder", layout=W.Layout(width="360px"),
                             style={"description_width": "50px"})
        self.write = button("Write one file per object", self.write_files)
        self.downloads = W.HTML()
        self.prepare = button("Prepare the download", self.prepare_download, width="auto")
        self.design_path = W.Text(description="design file", layout=W.Layout(width="360px"),
                                  style={"description_width": "70px"})
        self.save = button("Save design", self.save_design)
        self.upload = W.FileUpload(accept=".yaml,.yml", multiple=False,
                                   description="Load a design or ASM YAML")
        self.upload.layout.width = "260px"
        self.upload.observe(lambda _: self._uploaded(), "value")
        self.example = W.Dropdown(options=examples.names(), description="example",
                                  layout=W.Layout(width="250px"),
                                  style={"description_width": "70px"})
        self.open = button("Open example", self.open_example)
        self.result = W.HTML()
        self._result_for: LaneDesign | None = None  # the design the result message is about
        self.find = W.Text(placeholder="find in the YAML", continuous_update=False,
                           layout=W.Layout(width="240px"))
        self.find.observe(lambda _: self.refresh(), "value")
        self.only_matching = W.Checkbox(description="only the objects that match", indent=False,
                                        layout=W.Layout(width="auto"))
        self.only_matching.observe(lambda _: self.refresh(), "value")
        self.found = W.HTML()
        self.objects: list[dict] | None = None
        self.widget = W.VBox([
            self.data_plane,
            self.data_planes_help,
            self.target,  # its own row: an error beside it squeezed the buttons onto two
            self.status,
            W.HBox([self.full_routes, self.with_gateway, self.find, self.only_matching,
                    self.found],
                   layout=W.Layout(align_items="center")),
            self.preview,
            W.HBox([self.folder, self.write, self.prepare, self.downloads],
                   layout=W.Layout(align_items="center")),
            heading("The design itself"),
            help_text("Keep the design file in git next to the manifests; load a design file "
                      "or ASMSwimLaneGroup/ASMSwimLane YAML to edit it here."),
            W.HBox([self.design_path, self.save, self.upload],
                   layout=W.Layout(align_items="center")),
            W.HBox([self.example, self.open]),
            self.result,
        ])

    def refresh(self) -> None:
        super().refresh()
        design, target = self.state.design, self.target.value
        with self.syncing():
            self.data_plane.value = design.data_plane
        self.folder.value = self.folder.value or f"manifests/{design.name}"
        self.design_path.value = self.design_path.value or f"{design.name}.yaml"
        options = registry.target(target).options
        self.full_routes.layout.display = "" if "full_routes" in options else "none"
        self.with_gateway.layout.display = "" if "with_gateway" in options else "none"
        if self._result_for is not None and self._result_for is not design:
            self.result.value = ""  # a "Done: ..." about an earlier design would mislead
            self._result_for = None
        self.objects, why = manifests(design, target, self.full_routes.value,
                                      self.with_gateway.value)
        big = self.objects is not None and len(self.objects) > PREVIEW_OBJECTS
        links = [] if big else [self._design_link()]
        self.preview.layout.display = "none" if self.objects is None else ""
        if self.objects is None:
            self.status.value = why
            self.preview.value = ""
        else:
            self.status.value = message(f"{len(self.objects)} objects", "ok")
            if len(self.objects) <= PREVIEW_OBJECTS:
                text = manifest_text(design, target, self.objects)
                links.insert(0, self._manifest_link(text))
            else:
                more = len(self.objects) - PREVIEW_OBJECTS
                text = (dump_manifests(self.objects[:PREVIEW_OBJECTS],
                                       _header(design, target, self.objects))
                        + f"# ... and {more} more objects: prepare the download, or write "
                          "the files, for all of them\n")
            shown, self.found.value = searched(text, self.find.value.strip(),
                                               self.only_matching.value)
            self.preview.value = f'<pre class="ld-yaml">{shown}</pre>'
        self.write.disabled = self.objects is None
        self.prepare.layout.display = "" if big else "none"
        self.downloads.value = "".join(links)

    def _design_link(self) -> str:
        design = self.state.design
        return download_link(dump_design(design), f"{design.name}.yaml", "design file")

    def _manifest_link(self, text: str) -> str:
        design, target = self.state.design, self.target.value
        return download_link(text, f"{design.name}-{target}.yaml", f"{target} manifests")

    def prepare_download(self) -> None:
        """Download links for the whole manifests and design file (large meshes: on request)."""
        if not self.objects:
            return
        text = manifest_text(self.state.design, self.target.value, self.objects)
        self.prepare.layout.display = "none"
        self.downloads.value = self._manifest_link(text) + self._design_link()

    def _say(self, html_message: str) -> None:
        """Show the result of an action; it is cleared by the next edit of the design."""
        self.result.value = html_message
        self._result_for = self.state.design

    def write_files(self) -> None:
        if not self.objects:
            return
        folder = Path(self.folder.value.strip() or ".")
        try:
            written = write_manifests(self.state.design, self.target.value, self.objects,
                                      folder)
        except OSError as exc:
            self._say(message(f"Cannot write to {folder.resolve()}: {exc.strerror or exc}",
                              "error"))
            return
        names = ", ".join(p.relative_to(folder).as_posix() for p in written.written)
        text = f"Wrote {len(written.written)} files to {folder.resolve()}: {names}"
        if written.removed:
            gone = ", ".join(p.relative_to(folder).as_posix() for p in written.removed)
            text += f". Removed {len(written.removed)} no longer emitted: {gone}"
        self._say(message(text, "ok") + (findings_message("", written.findings)
                                         if written.findings else ""))

    def save_design(self) -> None:
        path = Path(self.design_path.value.strip() or f"{self.state.design.name}.yaml")
        try:
            save_design(self.state.design, path)
        except OSError as exc:
            self._say(message(f"Cannot save {path.resolve()}: {exc.strerror or exc}", "error"))
            return
        self._say(message(f"Saved the design to {path.resolve()}", "ok"))

    def open_example(self) -> None:
        name = self.example.value
        if name:
            self.load(examples.load(name), f"open example {name}", ())

    def _uploaded(self) -> None:
        if not self.upload.value:
            return
        item = self.upload.value[0]
        with self.syncing():
            self.upload.value = ()  # the same file can be loaded again
        self.load_bytes(bytes(item["content"]), item["name"])

    def load_bytes(self, content: bytes, name: str) -> None:
        """Load a design file or ASM YAML; problems are shown, the current design kept."""
        loaded = load_text(content)
        if loaded.design is None:
            self._say(findings_message(f"{name} was not loaded:", loaded.findings))
            return
        self.load(loaded.design, f"load {name}", loaded.findings)

    def load(self, design: LaneDesign, what: str, findings: Sequence[Finding]) -> None:
        self.folder.value = self.design_path.value = ""  # defaults follow the new design
        self.state.replace(design, what)
        note = findings_message(f"Loaded with remarks ({what}):", findings) if findings else \
            message(f"Done: {what}. Undo goes back to the previous design.", "ok")
        self._say(note)


def searched(text: str, query: str, only_matching: bool = False) -> tuple[str, str]:
    """The YAML as HTML with ``query`` marked (case-insensitive), and a count of the matches;
    ``only_matching`` keeps only the documents (objects) that contain it."""
    if not query:
        return html.escape(text), ""
    needle = query.lower()
    if only_matching:
        docs = text.split("\n---\n")
        head, kept = docs[0], [d for d in docs[1:] if needle in d.lower()]
        text = "\n---\n".join([head, *kept])  # the header comment stays first
    count = text.lower().count(needle)
    out, at, low = [], 0, text.lower()
    while (found := low.find(needle, at)) >= 0:
        out += [html.escape(text[at:found]),
                f"<mark>{html.escape(text[found:found + len(needle)])}</mark>"]
        at = found + len(needle)
    out.append(html.escape(text[at:]))
    kind = "ok" if count else "warning"
    return "".join(out), message(f"{count} match{'es' if count != 1 else ''}", kind)
