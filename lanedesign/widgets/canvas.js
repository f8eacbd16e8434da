// The interactive lane diagram (anywidget): Graphviz's SVG with zoom, pan and fit, and the
// gestures that become design edits in Python. No library and nothing fetched at run time:
// pointer events and the SVG viewBox do the work.
//
// The synced traits are listed in canvas.py's docstring: svg, graph ({nodes, edges, hints,
// home}), selected, selected_call, reveal ({ids, centre, seq}), view_key, view, the legend
// (lanes, marks, lane), min_scale and height. The widget sends {event: "select" | "connect" |
// "call" | "lane", ...}; it reads nothing of the page outside its own element.
//
// One render builds a small context (ctx: the model, the stage, the <svg>, its bounds and
// the current view) that the named functions below share:
//   frame      the toolbar, legend, stage and tip elements
//   layout     parse and annotate the SVG; measure a node's box in SVG units
//   zoom/pan   apply a view, fit, the initial view, zoom at a point, reveal nodes
//   gestures   pan the background, drag a service onto another, click a service or call
//   hover      the hint beside the pointer
//   legend     the lane chips and marks
//   messages   what goes to Python

const DRAG_START = 5; // pixels a pointer moves before a press becomes a drag
const MAX_SCALE = 6;
const MARGIN = 24; // pixels kept between a revealed node and the stage's edge
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// -- frame --------------------------------------------------------------------------------
function buildFrame(root) {
  root.classList.add("ld-canvas");
  const bar = el("div", "ld-canvas-bar");
  const buttons = {};
  for (const [name, text, tip] of [
    ["out", "−", "zoom out"], ["in", "+", "zoom in"],
    ["fit", "fit", "the whole diagram (text may get small)"],
    ["readable", "readable", "back to readable text"],
  ]) {
    const b = el("button", `ld-canvas-btn ld-canvas-${name}`, text);
    b.title = tip;
    b.type = "button";
    bar.appendChild(b);
    buttons[name] = b;
  }
  const zoomLabel = el("span", "ld-canvas-zoom");
  const help = el("span", "ld-canvas-help",
    "drag a service onto another to add a call · click a call to remove it · wheel zooms");
  bar.append(zoomLabel, help);
  const legend = el("div", "ld-canvas-legend");
  const stage = el("div", "ld-canvas-stage");
  const tip = el("div", "ld-canvas-tip");
  tip.style.display = "none";
  root.append(bar, legend, stage);
  stage.appendChild(tip);
  return { root, buttons, zoomLabel, legend, stage, tip };
}

// -- layout -------------------------------------------------------------------------------
// Graphviz's SVG as an element, its services and calls marked for the gestures and styles.
function parseSvg(text, graph) {
  const holder = document.createElement("div");
  holder.innerHTML = text;
  const svg = holder.querySelector("svg");
  if (!svg) return null;
  // native tooltips would cover the hints
  svg.querySelectorAll("title").forEach((t) => t.remove());
  svg.querySelectorAll("a").forEach((a) => {
    a.removeAttribute("xlink:title");
    a.removeAttribute("title");
  });
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  svg.classList.add("ld-canvas-svg");
  annotate(svg, graph);
  return svg;
}

function annotate(svg, graph) {
  const nodes = graph.nodes || {};
  const edges = graph.edges || {};
  svg.querySelectorAll("g.node").forEach((g) => {
    if (nodes[g.id] !== undefined) {
      g.classList.add("ld-service");
      g.dataset.service = nodes[g.id];
    }
  });
  svg.querySelectorAll("g.edge").forEach((g) => {
    const call = edges[g.id];
    if (!call) return;
    g.classList.add("ld-call");
    g.dataset.caller = call[0];
    g.dataset.callee = call[1];
    // a wide invisible stroke makes a thin edge easy to click
    const path = g.querySelector("path");
    if (path) {
      const hit = path.cloneNode();
      hit.setAttribute("class", "ld-hit");
      hit.removeAttribute("stroke-dasharray");
      g.insertBefore(hit, g.firstChild);
    }
  });
}

function viewBoxOf(svg) {
  const vb = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
  return { x: vb[0], y: vb[1], w: vb[2] || 1, h: vb[3] || 1 };
}

// a node's box in the root SVG's units (Graphviz nests it in a translated group)
function nodeBox(svg, nodeId) {
  if (!svg || !nodeId) return null;
  const g = svg.querySelector(`g.node[id="${CSS.escape(nodeId)}"]`);
  if (!g) return null;
  const box = g.getBBox();
  const m = g.getCTM();
  const rootM = svg.getCTM();
  if (!m || !rootM) return null;
  const toRoot = rootM.inverse().multiply(m);
  const corner = (x, y) => {
    const p = svg.createSVGPoint();
    p.x = x;
    p.y = y;
    return p.matrixTransform(toRoot);
  };
  const a = corner(box.x, box.y);
  const b = corner(box.x + box.width, box.y + box.height);
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y),
    w: Math.abs(b.x - a.x), h: Math.abs(b.y - a.y) };
}

function union(boxes) {
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.w));
  const y1 = Math.max(...boxes.map((b) => b.y + b.h));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

function boxesOf(ctx, ids) {
  return (ids || []).map((id) => nodeBox(ctx.svg, id)).filter((b) => b);
}

// -- zoom/pan -----------------------------------------------------------------------------
function stageSize(ctx) {
  return { w: ctx.stage.clientWidth || 600, h: ctx.stage.clientHeight || 420 };
}

function applyView(ctx) {
  const { svg, view, model, zoomLabel } = ctx;
  if (!svg) return;
  const { w, h } = stageSize(ctx);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("viewBox", `${view.x} ${view.y} ${w / view.scale} ${h / view.scale}`);
  zoomLabel.textContent = `${Math.round(view.scale * 100)}%`;
  ctx.root.dataset.scale = String(view.scale);
  const small = view.scale < model.get("min_scale") - 1e-9;
  zoomLabel.classList.toggle("ld-canvas-small", small);
  zoomLabel.title = small ? "text is below a readable size: zoom in" : "";
}

// the view goes to Python (debounced), so a redraw or a second output keeps it
function rememberView(ctx) {
  clearTimeout(ctx.saveTimer);
  ctx.saveTimer = setTimeout(() => {
    ctx.model.set("view", { key: ctx.model.get("view_key"), ...ctx.view });
    ctx.model.save_changes();
  }, 150);
}

function fitScale(ctx) {
  const { w, h } = stageSize(ctx);
  return Math.min(w / ctx.bounds.w, h / ctx.bounds.h);
}

function fitView(ctx) {
  const scale = fitScale(ctx);
  const { w, h } = stageSize(ctx);
  const b = ctx.bounds;
  ctx.view = { x: b.x - (w / scale - b.w) / 2, y: b.y - (h / scale - b.h) / 2, scale };
}

// Where one axis of a new view starts: the whole graph centred when it fits; else the home
// boxes centred when they fit, else the first of them (the gateway) at the near edge.
function homeStart(start, size, span, first, all) {
  if (span <= size) return start - (size - span) / 2;
  let centre = start + span / 2;
  if (all) {
    centre = all.size <= size - 2 * MARGIN ? all.start + all.size / 2
      : first.start - MARGIN + size / 2;
  }
  return Math.min(Math.max(centre - size / 2, start), start + span - size);
}

// the initial view: readable text (the whole graph if it stays readable), opening on the
// gateway and the current lane's services, or the selected service (graph.home)
function initialView(ctx) {
  const readable = ctx.model.get("min_scale");
  const scale = Math.max(Math.min(fitScale(ctx), 1.5), readable);
  const { w, h } = stageSize(ctx);
  const b = ctx.bounds;
  const boxes = boxesOf(ctx, (ctx.model.get("graph") || {}).home);
  const all = boxes.length ? union(boxes) : null;
  const first = boxes[0];
  ctx.view = {
    x: homeStart(b.x, w / scale, b.w, first && { start: first.x },
      all && { start: all.x, size: all.w }),
    y: homeStart(b.y, h / scale, b.h, first && { start: first.y },
      all && { start: all.y, size: all.h }),
    scale,
  };
}

function zoomAt(ctx, factor, clientX, clientY) {
  const { view, stage } = ctx;
  const scale = Math.min(Math.max(view.scale * factor, 0.05), MAX_SCALE);
  const rect = stage.getBoundingClientRect();
  const cx = clientX ?? rect.left + rect.width / 2;
  const cy = clientY ?? rect.top + rect.height / 2;
  const ux = view.x + (cx - rect.left) / view.scale;
  const uy = view.y + (cy - rect.top) / view.scale;
  ctx.view = { x: ux - (cx - rect.left) / scale, y: uy - (cy - rect.top) / scale, scale };
  applyView(ctx);
  rememberView(ctx);
}

// one axis of a pan that brings [lo, lo + span] into [start, start + size]; the least move
function panAxis(start, size, lo, span, margin, centre) {
  if (centre || span + 2 * margin > size) return lo + span / 2 - size / 2;
  if (lo - margin < start) return lo - margin;
  if (lo + span + margin > start + size) return lo + span + margin - size;
  return start;
}

// pan (never zoom) so the nodes are in view: after an edit, or centred on a chosen service
function revealNodes(ctx, ids, centre) {
  const boxes = boxesOf(ctx, ids);
  if (!boxes.length) return false;
  const u = union(boxes);
  const { w, h } = stageSize(ctx);
  const { view } = ctx;
  const vw = w / view.scale, vh = h / view.scale, m = MARGIN / view.scale;
  ctx.view = { ...view, x: panAxis(view.x, vw, u.x, u.w, m, centre),
    y: panAxis(view.y, vh, u.y, u.h, m, centre) };
  applyView(ctx);
  rememberView(ctx);
  return true;
}

// -- drawing ------------------------------------------------------------------------------
function draw(ctx) {
  const { model, stage, tip } = ctx;
  stage.querySelectorAll("svg.ld-canvas-svg").forEach((s) => s.remove());
  ctx.svg = null;
  const text = model.get("svg");
  if (!text) return;
  ctx.svg = parseSvg(text, model.get("graph") || {});
  if (!ctx.svg) return;
  ctx.bounds = viewBoxOf(ctx.svg);
  stage.insertBefore(ctx.svg, tip);
  markSelection(ctx);
  const kept = model.get("view");
  if (kept && kept.key === model.get("view_key") && kept.scale) {
    ctx.view = { x: kept.x, y: kept.y, scale: kept.scale };
    applyView(ctx);
  } else {
    initialView(ctx);
    applyView(ctx);
    rememberView(ctx);
  }
}

function markSelection(ctx) {
  const { svg, model } = ctx;
  if (!svg) return;
  const selected = model.get("selected");
  const call = model.get("selected_call") || [];
  svg.querySelectorAll("g.ld-service").forEach((g) => {
    g.classList.toggle("ld-selected", !!selected && g.dataset.service === selected);
  });
  svg.querySelectorAll("g.ld-call").forEach((g) => {
    g.classList.toggle("ld-selected",
      call.length === 2 && g.dataset.caller === call[0] && g.dataset.callee === call[1]);
  });
}

// several traits change in one update (svg, graph, reveal...): draw once, then reveal
function schedule(ctx, what) {
  ctx.pending[what] = true;
  if (ctx.flushQueued) return;
  ctx.flushQueued = true;
  queueMicrotask(() => flush(ctx));
}

function flush(ctx) {
  ctx.flushQueued = false;
  const { draw: redraw, reveal } = ctx.pending;
  ctx.pending = {};
  if (redraw) draw(ctx);
  if (reveal) {
    const asked = ctx.model.get("reveal") || {};
    revealNodes(ctx, asked.ids, !!asked.centre);
  }
}

// -- legend -------------------------------------------------------------------------------
function drawLegend(ctx) {
  const { legend, model } = ctx;
  legend.replaceChildren();
  const current = model.get("lane");
  for (const [lane, colour, text] of model.get("lanes") || []) {
    const chip = el("button", "ld-canvas-lane", text);
    chip.type = "button";
    chip.dataset.lane = lane;
    chip.style.setProperty("--swatch", colour);
    chip.title = `show lane ${lane}`;
    if (lane === current) chip.classList.add("ld-current");
    chip.addEventListener("click", () => send(ctx, "lane", { lane }));
    legend.appendChild(chip);
  }
  for (const [text, mark] of model.get("marks") || []) {
    const item = el("span", "ld-canvas-mark");
    item.innerHTML = mark; // lanedesign's own drawing of the mark (render/svg.py), never user text
    item.appendChild(document.createTextNode(text));
    legend.appendChild(item);
  }
}

// -- messages to Python -------------------------------------------------------------------
function send(ctx, event, data) {
  ctx.model.send({ event, ...data });
}

// -- gestures: pan on the background, drag a service to another to add a call ------------
function serviceAt(ctx, clientX, clientY) {
  const hit = document.elementFromPoint(clientX, clientY);
  const g = hit && hit.closest ? hit.closest("g.ld-service") : null;
  return g && ctx.stage.contains(g) ? g : null;
}

function toUser(svg, clientX, clientY) {
  const p = svg.createSVGPoint();
  p.x = clientX;
  p.y = clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}

function centreOf(box) {
  return { x: box.x + box.w / 2, y: box.y + box.h / 2 };
}

function drawLink(ctx, from, e) {
  const to = toUser(ctx.svg, e.clientX, e.clientY);
  if (!ctx.link) {
    ctx.link = document.createElementNS(SVG_NS, "line");
    ctx.link.setAttribute("class", "ld-canvas-link");
    ctx.svg.appendChild(ctx.link);
  }
  const start = centreOf(nodeBox(ctx.svg, from.id));
  ctx.link.setAttribute("x1", start.x);
  ctx.link.setAttribute("y1", start.y);
  ctx.link.setAttribute("x2", to.x);
  ctx.link.setAttribute("y2", to.y);
  const over = serviceAt(ctx, e.clientX, e.clientY);
  ctx.svg.querySelectorAll("g.ld-target").forEach((g) => g.classList.remove("ld-target"));
  if (over && over !== from) over.classList.add("ld-target");
}

function endDrag(ctx) {
  if (ctx.link) {
    ctx.link.remove();
    ctx.link = null;
  }
  if (ctx.svg) ctx.svg.querySelectorAll("g.ld-target").forEach((g) => g.classList.remove("ld-target"));
}

function onPress(ctx, e) {
  if (!ctx.svg || e.button !== 0) return;
  const node = e.target.closest ? e.target.closest("g.ld-service") : null;
  const edge = e.target.closest ? e.target.closest("g.ld-call") : null;
  ctx.press = { x: e.clientX, y: e.clientY, node, edge, view: { ...ctx.view }, moved: false };
  ctx.stage.setPointerCapture(e.pointerId);
  e.preventDefault();
}

function onMove(ctx, e) {
  const press = ctx.press;
  if (!press) {
    showHint(ctx, e);
    return;
  }
  const dx = e.clientX - press.x, dy = e.clientY - press.y;
  if (!press.moved && Math.hypot(dx, dy) < DRAG_START) return;
  press.moved = true;
  ctx.tip.style.display = "none";
  if (press.node) {
    drawLink(ctx, press.node, e);
  } else {
    const scale = ctx.view.scale;
    ctx.view = { ...press.view, x: press.view.x - dx / scale, y: press.view.y - dy / scale };
    applyView(ctx);
  }
}

function onRelease(ctx, e, cancelled) {
  const p = ctx.press;
  if (!p) return;
  ctx.press = null;
  endDrag(ctx);
  if (cancelled) return;
  if (!p.moved) {
    if (p.node) send(ctx, "select", { node: p.node.id });
    else if (p.edge) send(ctx, "call", { edge: p.edge.id });
    return;
  }
  if (p.node) {
    const over = serviceAt(ctx, e.clientX, e.clientY);
    if (over && over !== p.node) send(ctx, "connect", { from: p.node.id, to: over.id });
  } else {
    rememberView(ctx);
  }
}

// -- hover --------------------------------------------------------------------------------
function showHint(ctx, e) {
  const { tip, stage, model } = ctx;
  const node = serviceAt(ctx, e.clientX, e.clientY);
  const text = node ? ((model.get("graph") || {}).hints || {})[node.id] : "";
  if (!text) {
    tip.style.display = "none";
    return;
  }
  const rect = stage.getBoundingClientRect();
  tip.textContent = text;
  tip.style.display = "block";
  const left = Math.min(e.clientX - rect.left + 14, rect.width - tip.offsetWidth - 4);
  const top = e.clientY - rect.top + 16 + tip.offsetHeight > rect.height
    ? e.clientY - rect.top - tip.offsetHeight - 10 : e.clientY - rect.top + 16;
  tip.style.left = `${Math.max(left, 4)}px`;
  tip.style.top = `${Math.max(top, 4)}px`;
}

// -- wiring -------------------------------------------------------------------------------
function listen(ctx) {
  const { stage, buttons, model } = ctx;
  stage.addEventListener("pointerdown", (e) => onPress(ctx, e));
  stage.addEventListener("pointermove", (e) => onMove(ctx, e));
  stage.addEventListener("pointerup", (e) => onRelease(ctx, e, false));
  stage.addEventListener("pointercancel", (e) => onRelease(ctx, e, true));
  stage.addEventListener("pointerleave", () => { ctx.tip.style.display = "none"; });
  stage.addEventListener("wheel", (e) => {
    if (!ctx.svg) return;
    e.preventDefault();
    zoomAt(ctx, Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
  }, { passive: false });

  buttons.in.addEventListener("click", () => zoomAt(ctx, 1.25));
  buttons.out.addEventListener("click", () => zoomAt(ctx, 0.8));
  buttons.fit.addEventListener("click", () => { fitView(ctx); applyView(ctx); rememberView(ctx); });
  buttons.readable.addEventListener("click", () => {
    initialView(ctx);
    applyView(ctx);
    rememberView(ctx);
  });

  model.on("change:svg", () => schedule(ctx, "draw"));
  model.on("change:graph", () => schedule(ctx, "draw"));
  model.on("change:view_key", () => schedule(ctx, "draw"));
  model.on("change:reveal", () => schedule(ctx, "reveal"));
  model.on("change:selected", () => markSelection(ctx));
  model.on("change:selected_call", () => markSelection(ctx));
  model.on("change:lanes", () => drawLegend(ctx));
  model.on("change:marks", () => drawLegend(ctx));
  model.on("change:lane", () => drawLegend(ctx));
  model.on("change:height", () => {
    stage.style.height = `${model.get("height")}px`;
    applyView(ctx);
  });
  const resize = new ResizeObserver(() => applyView(ctx));
  resize.observe(stage);
  return () => resize.disconnect();
}

function render({ model, el: root }) {
  const ctx = {
    model,
    ...buildFrame(root),
    svg: null, // the <svg> element
    bounds: { x: 0, y: 0, w: 1, h: 1 }, // the graph's own viewBox
    view: { x: 0, y: 0, scale: 1 }, // the visible part: top left in SVG units, and zoom
    press: null, // a pointer pressed on the stage
    link: null, // the line drawn while dragging a service
    saveTimer: null,
    pending: {},
    flushQueued: false,
  };
  const stop = listen(ctx);
  ctx.stage.style.height = `${model.get("height")}px`;
  drawLegend(ctx);
  // the element is attached after render returns: measure then
  requestAnimationFrame(() => draw(ctx));
  return stop;
}

export default { render };
