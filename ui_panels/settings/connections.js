// Connections and secrets (the connections admin API): each connection with the secrets it needs and a
// "Test" action; secrets are write-only: set a value (never shown again; kept in Redis, encrypted, for every
// API and worker process) or remove one.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;

  function secretChip(s) {
    return S.chip(s.set ? "ok" : "warning", s.set ? `${s.name} · ${s.source === "env" ? "from environment" : "set"}` : `${s.name} · not set`);
  }

  function connectionRow(c) {
    const result = h("span", { class: "wf-help", "aria-live": "polite" });
    const test = S.button("Test", async () => {
      test.disabled = true;
      WF.clear(result, "Testing…");
      try {
        const answer = await S.call("POST", `/api/v1/connections/${encodeURIComponent(c.name)}/test`, {});
        WF.clear(result, S.chip(answer.ok ? "ok" : "error", answer.ok ? "ok" : "failed"), ` ${answer.message} (${answer.elapsed_ms} ms)`);
      } catch (err) {
        if (err.status !== 401) WF.clear(result, h("span", { class: "wf-field-error" }, S.message(err)));
      }
      test.disabled = false;
    }, null, { "aria-label": `Test ${c.name}` });
    return h("tr", { "data-connection": c.name },
      h("td", {}, h("code", {}, c.name), c.description ? h("div", { class: "wf-help" }, c.description) : null),
      h("td", {}, c.kind), h("td", {}, h("code", {}, c.target)), h("td", {}, c.auth || "none"),
      h("td", {}, c.secrets.length ? c.secrets.map(secretChip) : "—"),
      h("td", { class: "wfs-test" }, test, h("div", {}, result)));
  }

  function secretRow(s, el) {
    const value = h("input", { type: "password", autocomplete: "off", style: "width:180px", "aria-label": `New value for ${s.name}`, placeholder: "new value" });
    const feedback = h("span", { class: "wf-help", "aria-live": "polite" });
    const save = S.button("Set", async () => {
      if (!value.value) { WF.clear(feedback, h("span", { class: "wf-field-error" }, "Type a value first.")); value.focus(); return; }
      try {
        await S.call("PUT", `/api/v1/secrets/${encodeURIComponent(s.name)}`, { value: value.value });
        // cleared once the section shows the new state: a Remove pressed before then would open its dialog in a
        // section the reload then replaces
        try { await S.load("connections"); } finally { value.value = ""; }
      } catch (err) {
        if (err.status !== 401) WF.clear(feedback, h("span", { class: "wf-field-error" }, S.message(err)));
      }
    }, "primary", { "aria-label": `Set ${s.name}` });
    const remove = s.set && s.source !== "env" ? S.button("Remove", async () => {
      if (!(await WF.confirm(el, `Remove secret ${s.name}?`, `Steps using ${s.used_by.join(", ") || "it"} fail until it is set again.`, "Remove"))) return;
      try {
        await S.call("DELETE", `/api/v1/secrets/${encodeURIComponent(s.name)}`);
        await S.load("connections");
      } catch (err) {
        if (err.status !== 401) WF.clear(feedback, h("span", { class: "wf-field-error" }, S.message(err)));
      }
    }, "danger", { "aria-label": `Remove ${s.name}` }) : null;
    return h("tr", { "data-secret-name": s.name },
      h("td", {}, h("code", {}, s.name)),
      h("td", {}, S.chip(s.set ? "ok" : "warning", s.set ? (s.source === "env" ? "set in environment" : "set") : "not set")), h("td", {}, s.used_by.join(", ") || "—"),
      h("td", { class: "wfs-end" }, s.source === "env" ? h("span", { class: "wfs-badge" }, "change it in the environment")
        : h("div", { class: "wf-actions", style: "justify-content:flex-end;flex-wrap:nowrap" }, value, save, remove), feedback));
  }

  function table(label, heads, rows, endAligned) {
    return h("div", { class: "wfs-table-wrap" }, h("table", { class: "wf-table", "aria-label": label },
      h("thead", {}, h("tr", {}, heads.map((t, i) => h("th", { scope: "col", class: endAligned && i === heads.length - 1 ? "wfs-end" : null }, t)))),
      h("tbody", {}, rows)));
  }

  S.register("connections", async (el) => {
    const [conns, secrets] = await Promise.all([S.call("GET", "/api/v1/connections"), S.call("GET", "/api/v1/secrets")]);
    WF.clear(el, S.head("connections", "Connections", "Named APIs and databases that steps use; secrets are write-only",
      S.button("Refresh", () => S.load("connections"))),
    conns.connections.length
      ? table("Connections", ["Connection", "Kind", "Target", "Auth", "Secrets", "Test"], conns.connections.map(connectionRow))
      : WF.empty("⇄", "No connections", "Workspaces declare connections in workspace.json; steps then name them."),
    h("h3", {}, "Secrets"),
    secrets.secrets.length
      ? table("Secrets", ["Secret", "Status", "Used by", "Value"], secrets.secrets.map((s) => secretRow(s, el)), true)
      : h("p", { class: "wf-muted" }, "No secret is set or needed."));
  });
})(typeof window !== "undefined" ? window : globalThis);
