// The interactive lane diagram (anywidget): Graphviz's SVG with zoom, pan and fit, and the
// gestures that become design edits in Python. No library and nothing fetched at run time:
// pointer events and the SVG viewBox do the work.
//
// Python sends: svg (Graphviz output; node and call <g> elements carry ids), nodes (id ->
// service), edges (id -> [caller, callee]), hints (id -> why that lane serves it), lanes and
// marks (the legend), min_scale (pixels per SVG unit at which the smallest text is readable),
// view_key (a new key starts a new initial view) and view (the zoom, shared by every view of
// the widget so a second output of it shows the same thing).
// The widget sends: {event: "select" | "connect" | "call" | "lane" | "cell", ...}.

const DRAG_START = 5; // pixels a pointer moves before a press becomes a drag
const MAX_SCALE = 6;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el: root }) {
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

  let svg = null; // the <svg> element
  let bounds = { x: 0, y: 0, w: 1, h: 1 }; // the graph's own viewBox
  let view = { x: 0, y: 0, scale: 1 };
  let ids = {}; // node id -> service

  const size = () => ({ w: stage.clientWidth || 600, h: stage.clientHeight || 420 });

  function apply() {
    if (!svg) return;
    const { w, h } = size();
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${w / view.scale} ${h / view.scale}`);
    zoomLabel.textContent = `${Math.round(view.scale * 100)}%`;
    root.dataset.scale = String(view.scale);
    const small = view.scale < model.get("min_scale") - 1e-9;
    zoomLabel.classList.toggle("ld-canvas-small", small);
    zoomLabel.title = small ? "text is below a readable size: zoom in" : "";
  }

  let saveTimer = null;
  function remember() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      model.set("view", { key: model.get("view_key"), ...view });
      model.save_changes();
    }, 150);
  }

  function fitScale() {
    const { w, h } = size();
    return Math.min(w / bounds.w, h / bounds.h);
  }

  // the initial view: the whole graph if its text stays readable, else readable text at the
  // graph's start (the gateway side) or around the selected service
  function initial() {
    const readable = model.get("min_scale");
    const scale = Math.max(Math.min(fitScale(), 1.5), readable);
    const { w, h } = size();
    view = { x: bounds.x, y: bounds.y, scale };
    const centre = nodeCentre(model.get("centre"));
    const vw = w / scale, vh = h / scale;
    if (bounds.w <= vw) view.x = bounds.x - (vw - bounds.w) / 2;
    else if (centre) view.x = Math.min(Math.max(centre.x - vw / 2, bounds.x), bounds.x + bounds.w - vw);
    if (bounds.h <= vh) view.y = bounds.y - (vh - bounds.h) / 2;
    else if (centre) view.y = Math.min(Math.max(centre.y - vh / 2, bounds.y), bounds.y + bounds.h - vh);
    else view.y = bounds.y + (bounds.h - vh) / 2;
  }

  function fit() {
    const scale = fitScale();
    const { w, h } = size();
    view = {
      x: bounds.x - (w / scale - bounds.w) / 2,
      y: bounds.y - (h / scale - bounds.h) / 2,
      scale,
    };
  }

  // a node's centre in the root SVG's units
  function nodeCentre(nodeId) {
    if (!svg || !nodeId) return null;
    const g = svg.querySelector(`g.node[id="${CSS.escape(nodeId)}"]`);
    if (!g) return null;
    const box = g.getBBox();
    const m = g.getCTM();
    const rootM = svg.getCTM();
    if (!m || !rootM) return null;
    const p = svg.createSVGPoint();
    p.x = box.x + box.width / 2;
    p.y = box.y + box.height / 2;
    return p.matrixTransform(m).matrixTransform(rootM.inverse());
  }

  function toUser(clientX, clientY) {
    const p = svg.createSVGPoint();
    p.x = clientX;
    p.y = clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }

  function zoomAt(factor, clientX, clientY) {
    const scale = Math.min(Math.max(view.scale * factor, 0.05), MAX_SCALE);
    const rect = stage.getBoundingClientRect();
    const cx = clientX ?? rect.left + rect.width / 2;
    const cy = clientY ?? rect.top + rect.height / 2;
    const ux = view.x + (cx - rect.left) / view.scale;
    const uy = view.y + (cy - rect.top) / view.scale;
    view = { x: ux - (cx - rect.left) / scale, y: uy - (cy - rect.top) / scale, scale };
    apply();
    remember();
  }

  function draw() {
    const text = model.get("svg");
    stage.querySelectorAll("svg").forEach((s) => s.remove());
    svg = null;
    if (!text) return;
    const holder = document.createElement("div");
    holder.innerHTML = text;
    svg = holder.querySelector("svg");
    if (!svg) return;
    // native tooltips would cover the hints
    svg.querySelectorAll("title").forEach((t) => t.remove());
    svg.querySelectorAll("a").forEach((a) => {
      a.removeAttribute("xlink:title");
      a.removeAttribute("title");
    });
    const vb = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    bounds = { x: vb[0], y: vb[1], w: vb[2] || 1, h: vb[3] || 1 };
    svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
    svg.classList.add("ld-canvas-svg");
    ids = model.get("nodes") || {};
    const edges = model.get("edges") || {};
    svg.querySelectorAll("g.node").forEach((g) => {
      if (ids[g.id] !== undefined) {
        g.classList.add("ld-service");
        g.dataset.service = ids[g.id];
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
    stage.insertBefore(svg, tip);
    marks();
    const kept = model.get("view");
    if (kept && kept.key === model.get("view_key") && kept.scale) {
      view = { x: kept.x, y: kept.y, scale: kept.scale };
    } else {
      initial();
      apply();
      remember();
    }
    apply();
  }

  function marks() {
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

  function drawLegend() {
    legend.replaceChildren();
    const current = model.get("lane");
    for (const [lane, colour, text] of model.get("lanes") || []) {
      const chip = el("button", "ld-canvas-lane", text);
      chip.type = "button";
      chip.dataset.lane = lane;
      chip.style.setProperty("--swatch", colour);
      chip.title = `show lane ${lane}`;
      if (lane === current) chip.classList.add("ld-current");
      chip.addEventListener("click", () => model.send({ event: "lane", lane }));
      legend.appendChild(chip);
    }
    for (const text of model.get("marks") || []) legend.appendChild(el("span", "ld-canvas-mark", text));
  }

  // -- pointer gestures: pan on the background, drag a service to another to add a call ---
  let press = null;
  let line = null;

  function serviceAt(clientX, clientY) {
    const hit = document.elementFromPoint(clientX, clientY);
    const g = hit && hit.closest ? hit.closest("g.ld-service") : null;
    return g && stage.contains(g) ? g : null;
  }

  stage.addEventListener("pointerdown", (e) => {
    if (!svg || e.button !== 0) return;
    const node = e.target.closest ? e.target.closest("g.ld-service") : null;
    const edge = e.target.closest ? e.target.closest("g.ld-call") : null;
    press = { x: e.clientX, y: e.clientY, node, edge, view: { ...view }, moved: false };
    stage.setPointerCapture(e.pointerId);
    e.preventDefault();
  });

  stage.addEventListener("pointermove", (e) => {
    if (!press) {
      hover(e);
      return;
    }
    const dx = e.clientX - press.x, dy = e.clientY - press.y;
    if (!press.moved && Math.hypot(dx, dy) < DRAG_START) return;
    press.moved = true;
    tip.style.display = "none";
    if (press.node) {
      const from = nodeCentre(press.node.id);
      const to = toUser(e.clientX, e.clientY);
      if (!line) {
        line = document.createElementNS("http://www.w3.org/2000/svg", "line");
        line.setAttribute("class", "ld-canvas-link");
        svg.appendChild(line);
      }
      line.setAttribute("x1", from.x);
      line.setAttribute("y1", from.y);
      line.setAttribute("x2", to.x);
      line.setAttribute("y2", to.y);
      const over = serviceAt(e.clientX, e.clientY);
      svg.querySelectorAll("g.ld-target").forEach((g) => g.classList.remove("ld-target"));
      if (over && over !== press.node) over.classList.add("ld-target");
    } else {
      view = { ...press.view, x: press.view.x - dx / view.scale, y: press.view.y - dy / view.scale };
      apply();
    }
  });

  function release(e, cancelled) {
    if (!press) return;
    const p = press;
    press = null;
    if (line) {
      line.remove();
      line = null;
    }
    if (svg) svg.querySelectorAll("g.ld-target").forEach((g) => g.classList.remove("ld-target"));
    if (cancelled) return;
    if (!p.moved) {
      if (p.node) model.send({ event: "select", node: p.node.id });
      else if (p.edge) model.send({ event: "call", edge: p.edge.id });
      return;
    }
    if (p.node) {
      const over = serviceAt(e.clientX, e.clientY);
      if (over && over !== p.node) model.send({ event: "connect", from: p.node.id, to: over.id });
    } else {
      remember();
    }
  }
  stage.addEventListener("pointerup", (e) => release(e, false));
  stage.addEventListener("pointercancel", (e) => release(e, true));

  function hover(e) {
    const node = serviceAt(e.clientX, e.clientY);
    const text = node ? (model.get("hints") || {})[node.id] : "";
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
  stage.addEventListener("pointerleave", () => { tip.style.display = "none"; });

  stage.addEventListener("wheel", (e) => {
    if (!svg) return;
    e.preventDefault();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
  }, { passive: false });

  buttons.in.addEventListener("click", () => zoomAt(1.25));
  buttons.out.addEventListener("click", () => zoomAt(0.8));
  buttons.fit.addEventListener("click", () => { fit(); apply(); remember(); });
  buttons.readable.addEventListener("click", () => { initial(); apply(); remember(); });

  // -- a clicked cell of the routing matrix beside it shows that service in that lane -----
  // The designer around the canvas is looked up at each click: the element is often not
  // attached yet when render runs (then closest() finds nothing, and no click ever would).
  function onCell(e) {
    const td = e.target.closest ? e.target.closest(".ld-matrix td") : null;
    const designer = root.closest(".ld-designer");
    if (!td || !designer || !designer.contains(td)) return;
    const table = td.closest("table");
    const col = [...td.classList].find((c) => /^col\d+$/.test(c));
    const head = col && table.querySelector(`thead th.col_heading.${col}`);
    const row = td.parentElement.querySelector("th.row_heading");
    if (head && row) model.send({ event: "cell", service: row.textContent.trim(), lane: head.textContent.trim() });
  }
  document.addEventListener("click", onCell);

  const resize = new ResizeObserver(() => apply());
  resize.observe(stage);

  model.on("change:svg", draw);
  model.on("change:view_key", draw);
  model.on("change:selected", marks);
  model.on("change:selected_call", marks);
  model.on("change:lanes", drawLegend);
  model.on("change:marks", drawLegend);
  model.on("change:lane", drawLegend);
  model.on("change:height", () => { stage.style.height = `${model.get("height")}px`; apply(); });
  stage.style.height = `${model.get("height")}px`;
  drawLegend();
  // the element is attached after render returns: measure then
  requestAnimationFrame(draw);
  return () => {
    resize.disconnect();
    document.removeEventListener("click", onCell);
  };
}

export default { render };
