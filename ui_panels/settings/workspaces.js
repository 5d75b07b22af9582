// Workspaces: each loaded folder with its queries and definitions, and what `check` finds in the files now.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;

  function list(items, cls) {
    return items && items.length ? h("ul", { class: cls }, items.map((m) => h("li", {}, m))) : null;
  }

  function workspace(ws) {
    const bad = ws.problems.length || ws.queries.some((q) => q.status !== "ok");
    const status = bad ? "problem" : ws.warnings.length ? "warning" : "ok";
    const rows = ws.queries.map((q) => h("tr", { "data-query": q.name },
      h("td", {}, h("code", {}, q.name), h("div", { class: "wf-help" }, q.label)),
      h("td", {}, q.definition ? `definition ${q.definition}` : q.workflow || "—"),
      h("td", {}, q.mode || "—"),
      h("td", {}, S.chip(q.status, q.status === "ok" ? "ok" : "problem"), list(q.problems, "wfs-msgs"))));
    const defs = ws.definitions.map((d) => h("li", {}, h("code", {}, d.id), ` ${d.file}`, d.label ? ` · ${d.label}` : "",
      ` · version ${d.version} `, S.chip(d.status, d.status), list(d.messages, "wfs-msgs")));
    return h("article", { class: "wfs-ws", "data-workspace": ws.folder },
      h("h3", {}, ws.name, S.chip(status, status === "ok" ? "check passed" : status === "warning" ? "warnings" : "problems")),
      h("div", { class: "wf-help" }, h("code", {}, ws.folder), ws.description ? ` · ${ws.description}` : ""),
      list(ws.problems.filter((p) => !ws.queries.some((q) => q.problems.includes(p))), "wfs-msgs"),
      rows.length ? h("div", { class: "wfs-table-wrap", style: "margin-top:10px" }, h("table", { class: "wf-table", "aria-label": `Queries of ${ws.name}` },
        h("thead", {}, h("tr", {}, ["Query", "Runs", "Mode", "Check"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)))
        : h("p", { class: "wf-muted" }, "No queries."),
      defs.length ? [h("h3", { style: "font-size:12px;margin-top:12px" }, "Definitions"), h("ul", {}, defs)] : null);
  }

  S.register("workspaces", async (el) => {
    const data = await S.call("GET", "/api/v1/workspaces");
    const c = data.check;
    const summary = c.ok && !c.warnings ? WF.alert("success", "Check passed: every workspace file is valid.")
      : c.ok ? WF.alert("info", `Check passed with ${c.warnings} warning${c.warnings === 1 ? "" : "s"}.`)
        : WF.alert("error", `Check found ${c.problems} problem${c.problems === 1 ? "" : "s"} in the files on disk: the next start refuses them until fixed.`);
    WF.clear(el, S.head("workspaces", "Workspaces", "The loaded workspaces; the check reads the files on disk now",
      S.button("Check again", () => S.load("workspaces"))),
    ...(data.workspaces.length ? [summary, ...data.workspaces.map(workspace)] : [WF.empty("☰", "No workspaces loaded", "Set WORKFLOWS_WORKSPACE to your workspace folders.")]));
  });
})(typeof window !== "undefined" ? window : globalThis);
