// Query binding helper (for the app builder): pick a query, see its form and steps (node-based definitions
// drawn as a graph), copy the binding for the chosen host, and test-run it. Standalone only.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const panel = document.getElementById("binding-root") || document.querySelector('[data-panel="binding"]');
  const body = panel.querySelector(".wf-body");
  const announce = (text) => { panel.querySelector(".wf-announce").textContent = text; };
  const HOSTS = ["Appsmith", "ToolJet", "Budibase"];
  let api = null;
  let queries = [];
  let manifest = null;
  let chosen = { query: null, host: "Appsmith" };

  // How each host writes a widget's value in a binding; who the user is comes from the manifest's hosts.
  const VALUE_SYNTAX = {
    Appsmith: (n) => `{{ ${n}Input.text }}`,
    ToolJet: (n) => `{{components.${n}.value}}`,
    Budibase: (n) => `{{ ${n} }}`,
  };

  function userBinding(hostName) {
    const host = manifest && manifest.hosts && manifest.hosts[hostName.toLowerCase()];
    return host ? host.user : null;
  }

  function binding(query, hostName) {
    const props = (query.input_schema && query.input_schema.properties) || {};
    const lines = Object.entries(props).map(([name, spec]) => {
      const expr = VALUE_SYNTAX[hostName](name);
      const quoted = spec.type === "number" || spec.type === "integer" || spec.type === "boolean" ? expr : `"${expr}"`;
      return `    "${name}": ${quoted}`;
    });
    const user = userBinding(hostName);
    const who = user ? Object.entries(user.headers).map(([name, value]) => `${name}: ${value}`)
      : ["(who the user is: see the manifest's hosts section and docs/identity.md)"];
    const base = (manifest && manifest.datasource && manifest.datasource.base_url) || api.base || root.location.origin;
    return [`POST ${base}/api/v1/queries/${query.name}/runs`, "Authorization: Bearer <app key, in the datasource>",
      ...who, "Content-Type: application/json", "",
      `{\n  "input": {\n${lines.join(",\n")}\n  }\n}`].join("\n");
  }

  function userNote(hostName) {
    const user = userBinding(hostName);
    if (!user) return null;
    const where = `${user.where}${user.edition ? ` (${user.edition})` : ""}`;
    return h("p", { class: "wf-help" }, `User identity: evaluated on the ${user.evaluated}, set in ${where}.`,
      user.notes ? ` ${user.notes}` : "");
  }

  function node(step) {
    return h("li", { class: "wf-node", "data-kind": step.kind },
      h("div", { class: "wf-node-box" }, step.name, h("small", {}, step.kind)),
      step.paths.length ? h("div", { class: "wf-paths" }, step.paths.map((p) => h("div", { class: "wf-path" },
        h("span", { class: "wf-edge", title: p.label }, p.label),
        p.steps.length ? h("ol", { class: "wf-graph" }, p.steps.map(node)) : h("span", { class: "wf-muted" }, "(nothing)")))) : null);
  }

  async function stepsBlock(query) {
    const box = h("div", { class: "wf-graph-box", "aria-label": "Steps" }, WF.skeleton(1));
    api.definition(query.name).then((d) => {
      WF.clear(box, d.node_based
        ? h("ol", { class: "wf-graph", "aria-label": `Steps of ${query.label || query.name}` }, d.steps.map(node))
        : h("p", { class: "wf-muted" }, `A Python workflow (${d.workflow}): its steps show in each run's timeline.`));
    }).catch((err) => WF.clear(box, WF.alert("error", WF.refusal(err))));
    return box;
  }

  async function copy(text, area, status) {
    try {
      await navigator.clipboard.writeText(text);
      WF.clear(status, WF.alert("success", "Copied"));
    } catch (e) { // a sandboxed frame may refuse the clipboard: select it for Ctrl+C
      area.focus();
      area.select();
      const done = document.execCommand && document.execCommand("copy");
      WF.clear(status, WF.alert(done ? "success" : "info", done ? "Copied" : "Selected: press Ctrl+C to copy"));
    }
    announce(status.textContent);
  }

  async function show() {
    const query = chosen.query;
    const select = h("select", { id: "wf-binding-query", onchange: (e) => { chosen.query = queries.find((q) => q.name === e.target.value); show(); } },
      queries.map((q) => h("option", { value: q.name, selected: q === query }, q.label || q.name)));
    const tabs = h("div", { class: "wf-tabs", role: "group", "aria-label": "Host" }, HOSTS.map((name) => h("button", {
      type: "button", class: "wf-btn wf-btn-sm", "aria-pressed": String(name === chosen.host),
      onclick: () => { chosen.host = name; show(); } }, name)));
    const text = binding(query, chosen.host);
    const area = h("textarea", { id: "wf-binding-text", class: "wf-binding", readonly: true, rows: text.split("\n").length + 1 }, text);
    const copyStatus = h("div", {});
    const form = WF.schemaForm(query.input_schema || {});
    const result = h("div", { "aria-live": "polite" });
    const run = h("button", { class: "wf-btn wf-btn-primary", type: "submit" }, "Test-run");
    const testForm = h("form", { novalidate: true, "aria-label": "Test-run", onsubmit: async (e) => {
      e.preventDefault();
      const { values, errors } = form.read();
      form.showErrors(errors);
      if (Object.keys(errors).length) { form.focusFirstError(); return; }
      run.disabled = true;
      try {
        const answer = await api.trigger(query.name, values);
        WF.clear(result, WF.alert("success", `Started ${answer.run_id} (${answer.status})`), WF.json(answer));
      } catch (err) {
        if (err.status === 422) form.showErrors(err.fieldErrors("input."));
        WF.clear(result, WF.alert("error", WF.refusal(err)));
      } finally { run.disabled = false; }
    } }, form.el, h("div", { class: "wf-actions" }, run), result);
    WF.clear(body,
      h("div", { class: "wf-toolbar" }, h("div", { class: "wf-field", style: "min-width:260px" }, h("label", { for: select.id }, "Query"), select)),
      h("div", { class: "wf-split" },
        h("div", {},
          h("div", { class: "wf-card" }, h("div", { class: "wf-card-head" }, h("h2", {}, "Binding"), tabs),
            h("p", { class: "wf-muted" }, query.description || ""),
            h("label", { for: area.id, class: "wf-sr" }, `Binding for ${chosen.host}`), area, userNote(chosen.host),
            h("div", { class: "wf-actions", style: "margin-top:8px" },
              h("button", { class: "wf-btn", type: "button", onclick: () => copy(area.value, area, copyStatus) }, `Copy for ${chosen.host}`)), copyStatus),
          h("div", { class: "wf-card" }, h("h2", {}, "Test-run"), testForm)),
        h("div", { class: "wf-card" }, h("h2", {}, "Steps"), await stepsBlock(query))));
  }

  WF.host.start(panel, () => {
    WF.clear(body, WF.skeleton(2));
    const config = WF.host.config();
    if (!config.key) {
      WF.clear(body, WF.empty("🔑", "Not connected", "Open this page with #key=<app key>&user=<email>."));
      return;
    }
    api = new WF.Api(config);
    Promise.all([api.queries(), api.manifest().catch(() => null)]).then(([answer, m]) => {
      manifest = m;
      queries = answer.queries;
      if (!queries.length) { WF.clear(body, WF.empty("⚙", "No queries", "The workspace offers no query to bind.")); return; }
      chosen.query = queries.find((q) => q.name === config.query) || queries[0];
      show();
    }).catch((err) => WF.clear(body, WF.alert("error", `Could not load the queries: ${WF.refusal(err)}`)));
  });
})(window);
