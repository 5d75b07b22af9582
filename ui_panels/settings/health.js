// Health: Temporal, Redis, workers and the inbox as tiles; what Redis lost when it lost its data; runs per
// query; "Rebuild inbox now".
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;

  function kv(rows) {
    return h("table", { class: "wf-kv" }, h("tbody", {}, rows.filter(Boolean).map(([k, v]) =>
      h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v === null || v === undefined || v === "" ? "—" : v)))));
  }

  function tile(name, ok, rows, error, label) {
    return h("div", { class: "wfs-tile", "data-part": name.toLowerCase() },
      h("h3", {}, name, S.chip(ok ? "ok" : "error", label || (ok ? "ok" : "problem"))), kv(rows),
      error ? h("div", { class: "wfs-tile-error", role: "alert" }, error) : null);
  }

  function temporalTile(t) {
    return tile("Temporal", t.reachable, [["Address", t.address], ["Namespace", t.namespace], ["Version", t.version]],
      t.error, t.reachable ? "reachable" : "unreachable");
  }

  function redisTile(r) {
    const p = r.persistence || {};
    const saved = p.rdb_last_save_at ? WF.when(p.rdb_last_save_at) : null;
    return tile("Redis", r.reachable, [["Address", r.address], ["Version", r.version],
      ["Memory", r.memory ? `${r.memory.used}${r.memory.max_bytes ? ` of ${Math.round(r.memory.max_bytes / 1048576)} MB` : ""}` : null],
      ["Persistence", r.reachable ? `${p.aof ? "AOF on" : "AOF off"}, snapshot ${p.rdb_last_save || "—"}` : null],
      ["Last snapshot", saved]], r.error, r.reachable ? "reachable" : "unreachable");
  }

  function workersTile(w) {
    const alive = w.alive > 0;
    const last = (w.pollers || [])[0];
    return tile("Workers", alive, [["Task queue", h("code", {}, w.task_queue)], ["Polling", `${w.alive || 0} worker process${w.alive === 1 ? "" : "es"}`],
      ["Last seen", last ? WF.when(last.last_seen_at) : null], ["Backlog", w.backlog === null || w.backlog === undefined ? null : `${w.backlog} task${w.backlog === 1 ? "" : "s"}`]],
    w.error || (alive ? null : "No worker is polling: runs wait until one starts (workflows-plugin worker)."),
    alive ? "polling" : "none");
  }

  function inboxTile(m, onRebuild) {
    const rebuild = S.button(m.rebuilding ? "Rebuilding…" : "Rebuild now", onRebuild, null, { disabled: m.rebuilding });
    return h("div", { class: "wfs-tile", "data-part": "inbox" },
      h("h3", {}, "Inbox read model", S.chip(m.inbox_built_at ? "ok" : "warning", m.inbox_built_at ? "built" : "not built")),
      kv([["Last rebuild", m.inbox_built_at ? WF.when(m.inbox_built_at) : "never (rebuilt on the next read)"]]),
      h("div", { class: "wf-actions", style: "margin-top:8px" }, rebuild, h("span", { class: "wfs-rebuild-result wf-help", "aria-live": "polite" })));
  }

  function lostNotice(data) {
    if (!data || !data.lost) return null;
    const l = data.lost;
    return h("div", { class: "wf-alert wf-alert-error", role: "alert", "data-notice": "redis-lost" },
      h("strong", {}, `Redis lost its data (noticed ${WF.clock(l.noticed_at)}). `), "Gone: ",
      h("ul", {}, l.lost.map((x) => h("li", {}, x))), "Rebuilt from Temporal: ", h("ul", {}, l.rebuilt.map((x) => h("li", {}, x))));
  }

  function queriesTable(rows) {
    if (!rows.length) return WF.empty("☰", "No run counts", "Counts appear when Temporal is reachable.");
    return h("div", { class: "wfs-table-wrap" }, h("table", { class: "wf-table", "aria-label": "Runs per query" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Query"), h("th", { scope: "col", class: "wfs-num" }, "Open"),
        h("th", { scope: "col", class: "wfs-num" }, "Waiting for a person"), h("th", { scope: "col", class: "wfs-num" }, "Failed in 24 h"))),
      h("tbody", {}, rows.map((q) => h("tr", { "data-query": q.query }, h("td", {}, h("code", {}, q.query)),
        q.error ? h("td", { colspan: 3, class: "wf-field-error" }, q.error)
          : [h("td", { class: "wfs-num" }, q.open), h("td", { class: "wfs-num" }, q.waiting),
            h("td", { class: "wfs-num" }, q.failed_24h ? S.chip("failed", String(q.failed_24h)) : "0")])))));
  }

  async function rebuild(el) {
    const result = el.querySelector(".wfs-rebuild-result");
    const button = el.querySelector('[data-part="inbox"] button');
    button.disabled = true;
    result.textContent = "Rebuilding from Temporal…";
    try {
      const done = await S.call("POST", "/api/v1/admin/health/inbox-rebuild", {});
      result.textContent = `Rebuilt: ${done.requests} request${done.requests === 1 ? "" : "s"} of open runs.`;
      S.announce(result.textContent);
      S.load("audit");
    } catch (err) {
      if (err.status !== 401) WF.clear(result, h("span", { class: "wf-field-error" }, S.message(err)));
    }
    button.disabled = false;
  }

  S.register("health", async (el) => {
    WF.clear(el, S.head("health", "Health", "Checking Temporal, Redis and the workers…"), WF.skeleton(2));
    const data = await S.call("GET", "/api/v1/admin/health");
    WF.clear(el,
      S.head("health", "Health", `Checked ${WF.clock(data.checked_at)}`, S.button("Refresh", () => S.load("health"))),
      lostNotice(data.redis.data),
      Object.entries(data.restarting || {}).map(([part, why]) =>
        h("div", { class: "wf-alert wf-alert-info", role: "status", "data-restarting": part }, `up is restarting the ${part}: ${why}`)),
      h("div", { class: "wfs-tiles" }, temporalTile(data.temporal), redisTile(data.redis), workersTile(data.workers),
        inboxTile(data.read_model, () => rebuild(el))),
      h("h3", {}, "Runs per query"), queriesTable(data.queries));
  });
})(typeof window !== "undefined" ? window : globalThis);
