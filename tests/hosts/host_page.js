// Our rendering of a recipe's app page (tests/hosts/host_page.py): plain inputs, tables, buttons, texts and
// iframes. Every value shown comes from the host's emulator (window.hostAct answers the evaluated bindings);
// every click sends the page's inputs and the clicked row there and waits for the query to have run.
(() => {
  const setup = window.__HOST__;
  let view = {};
  let done = 0;

  const el = (tag, attrs = {}, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    kids.flat().forEach((kid) => kid && node.append(kid));
    return node;
  };

  const inputs = () => {
    const values = {};
    document.querySelectorAll("[data-path]").forEach((input) => {
      const raw = input.value;
      values[input.dataset.path] = input.type === "number" ? (raw === "" ? null : Number(raw)) : raw;
    });
    return values;
  };

  const cell = (value) => (value === null || value === undefined ? "" :
    typeof value === "object" ? JSON.stringify(value) : String(value));

  const summary = (answer) => {
    if (!answer) return "";
    if (answer.failed) return `${answer.action}: the host failed the query: ${answer.failed}`;
    const body = answer.body || {};
    if (body.error) {
      const fields = Object.keys((body.error.details || {}).fields || {});
      return `${answer.action} → ${answer.code}: ${body.error.message}` + (fields.length ? ` (${fields.join(", ")})` : "");
    }
    const keys = ["run_id", "status", "resolution", "actor", "retry_of"].filter((k) => body[k] !== undefined);
    return `${answer.action} → ${answer.code}` + (keys.length ? ": " + keys.map((k) => `${k} ${cell(body[k])}`).join(", ") : "");
  };

  async function act(request, screen) {
    const answer = await window.hostAct({ inputs: inputs(), ...request });
    view = answer.view;
    if (document.querySelector("main section")) refresh(); else render();
    if (answer.answer && screen) {
      const line = document.querySelector(`section[data-screen="${screen}"] .answer`);
      line.textContent = summary(answer.answer);
      line.dataset.code = answer.answer.code;
    }
    done += 1;
    document.body.dataset.done = String(done);
  }

  function component(comp, screen) {
    const id = comp.id;
    if (comp.kind === "input") {
      const attrs = { id, "data-path": comp.path, "aria-label": comp.label, disabled: comp.disabled,
        onchange: comp.on_change ? () => act({ actions: [comp.on_change] }, screen) : undefined };
      const input = comp.type === "textarea" ? el("textarea", { ...attrs, rows: 3 }) :
        el("input", { ...attrs, type: comp.type === "number" ? "number" : "text" });
      const fill = view[`${id}.default`];
      if (fill !== undefined && fill !== null) input.value = cell(fill);
      return el("label", { class: "field" }, el("span", { text: comp.label }), input);
    }
    if (comp.kind === "button") {
      return el("button", { id, type: "button", onclick: () => act({ set: comp.set || {},
        actions: [comp.action, ...(comp.then || [])] }, screen) }, comp.label);
    }
    if (comp.kind === "text") {
      return el("p", { class: "text", id }, el("b", { text: comp.label + ": " }), cell(view[`${id}.value`]));
    }
    if (comp.kind === "iframe") {
      return el("figure", { class: "embed" }, el("figcaption", { text: comp.label }),
        el("iframe", { id, src: view[`${id}.src`], title: comp.label, style: `height:${comp.height || 400}px` }));
    }
    if (comp.kind === "table") {
      const rows = Array.isArray(view[`${id}.rows`]) ? view[`${id}.rows`] : [];
      const head = el("tr", {}, comp.columns.map((c) => el("th", { text: c })), (comp.buttons || []).length ? el("th") : null);
      const body = rows.map((row) => el("tr", { "data-id": row.id, class: comp.row_click ? "clickable" : undefined,
        onclick: comp.row_click ? (event) => {
          if (event.target.closest("button")) return;  // a row button runs its own action
          act({ select: comp.select, row, actions: [comp.row_click] }, screen);
        } : undefined },
        comp.columns.map((c) => el("td", { text: cell(row[c]) })),
        (comp.buttons || []).length ? el("td", { class: "actions" }, comp.buttons.map((b) => el("button", {
          type: "button", onclick: () => {
            if (b.confirm && !window.confirm(`${b.label}?`)) return;
            act({ select: comp.select, row, actions: [b.action, ...(b.then || [])] }, screen);
          } }, b.label))) : null));
      return el("div", { class: "table", id }, el("h3", { text: comp.name }),
        el("table", {}, el("thead", {}, head), el("tbody", {}, body.length ? body :
          el("tr", {}, el("td", { colspan: comp.columns.length + 1, class: "empty", text: "No rows" })))));
    }
    return el("p", { text: `unknown component ${comp.kind}` });
  }

  function render() {  // once, when the first values have come: inputs keep what is typed, iframes load once
    document.querySelector("main").replaceChildren(...setup.screens.map((screen) => el("section",
      { "data-screen": screen.name }, el("h2", { text: screen.name }), el("div", { class: "answer", role: "status" }),
      screen.components.map((comp) => component(comp, screen.name)))));
  }

  function refresh() {  // after each action: the bound tables and texts show their new values
    setup.screens.forEach((screen) => screen.components.forEach((comp) => {
      if (comp.kind === "table" || comp.kind === "text") {
        document.getElementById(comp.id).replaceWith(component(comp, screen.name));
      }
    }));
  }

  document.head.append(el("style", { text: `
    body{margin:0;font:14px system-ui,sans-serif;background:#f5f6f8;color:#1d2939}
    header{background:#fff;border-bottom:1px solid #e4e7ec;padding:10px 18px;font-weight:600}
    header small{font-weight:400;color:#667085;margin-left:8px}
    main{padding:12px 18px;max-width:1140px}
    section{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:12px 16px;margin:0 0 14px}
    h2{font-size:15px;margin:0 0 8px}h3{font-size:13px;color:#475467;margin:10px 0 4px}
    .field{display:inline-flex;flex-direction:column;margin:0 12px 8px 0;font-size:12px;color:#475467}
    input,textarea{font:inherit;padding:5px 7px;border:1px solid #d0d5dd;border-radius:5px;min-width:150px}
    textarea{min-width:360px}
    button{font:inherit;padding:5px 12px;margin:0 6px 6px 0;border:1px solid #d0d5dd;border-radius:5px;background:#fff;cursor:pointer}
    section>button{background:#444ce7;color:#fff;border-color:#444ce7}
    table{border-collapse:collapse;width:100%;font-size:12px}th,td{border-bottom:1px solid #eaecf0;padding:5px 6px;text-align:left}
    th{background:#f9fafb;color:#475467}td.empty{color:#98a2b3}td.actions{white-space:nowrap}tr.clickable{cursor:pointer}tr.clickable:hover{background:#f5f8ff}
    .answer{min-height:18px;margin:4px 0 8px;font-size:12px;color:#344054}
    .answer[data-code^="4"],.answer[data-code="0"]{color:#b42318}.answer[data-code^="2"]{color:#067647}
    .text{margin:8px 0}.embed{margin:10px 0 0}.embed figcaption{font-size:12px;color:#667085;margin-bottom:4px}
    iframe{width:100%;border:1px solid #e4e7ec;border-radius:6px;background:#fff}` }));
  document.body.append(el("header", {}, `${setup.label} app`,
    el("small", { text: `emulated page: our rendering of the recipe's components · signed in as ${setup.user}` })),
  el("main"));
  act({ actions: setup.onLoad }, null);
})();
