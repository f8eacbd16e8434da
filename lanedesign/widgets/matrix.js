// The routing matrix (anywidget): pandas' HTML table, and a clicked cell told to Python as
// {event: "cell", service, lane}. The table is what render.routing_styler makes: a row's
// service is its row heading, a cell's lane the column heading of the same colN class.
// Python decides what a cell means (the designer shows it on the diagram).

function cellAt(target, root) {
  const td = target.closest ? target.closest("td") : null;
  if (!td || !root.contains(td)) return null;
  const table = td.closest("table");
  const col = [...td.classList].find((c) => /^col\d+$/.test(c));
  const head = col && table.querySelector(`thead th.col_heading.${col}`);
  const row = td.parentElement.querySelector("th.row_heading");
  if (!head || !row) return null;
  return { service: row.textContent.trim(), lane: head.textContent.trim() };
}

function render({ model, el }) {
  const draw = () => { el.innerHTML = model.get("value"); };
  const onClick = (e) => {
    const cell = cellAt(e.target, el);
    if (cell) model.send({ event: "cell", ...cell });
  };
  el.addEventListener("click", onClick);
  model.on("change:value", draw);
  draw();
  return () => el.removeEventListener("click", onClick);
}

export default { render };
