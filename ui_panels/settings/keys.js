// API keys: the list (never a secret: prefix, last use, what each may do), create (the key shown once with a
// copy button; its identity sources and capabilities), change what a key may do,
// rotate (a new secret shown once; the old one works for the chosen grace period), revoke (after a
// confirmation; stops at once on every API process).
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;
  const GRACE = [["0", "Stops at once"], ["3600", "Keeps working 1 hour"], ["86400", "Keeps working 1 day"],
    ["604800", "Keeps working 7 days"]];
  // What a key may do (docs/identity.md); decide and cancel_retry act as a person: never for a user a browser names.
  const CAPABILITIES = [["read", "Read runs and requests"], ["trigger", "Trigger runs"], ["decide", "Decide (resolve, reassign)"],
    ["cancel_retry", "Cancel or retry"], ["admin", "Settings, keys, secrets (admin)"]];
  const BY_SCOPE = { admin: ["read", "trigger", "decide", "cancel_retry", "admin"], app: ["read", "trigger", "decide", "cancel_retry"], webhook: ["trigger"] };
  let queries = [];
  let shown = null; // {title, secret} of the last created or rotated key, shown once

  function field(label, control, help) {
    return h("div", { class: "wf-field" }, h("label", { for: control.id }, label), control,
      help ? h("div", { class: "wf-help" }, help) : null);
  }

  // Show a modal dialog and wait for the value of the button clicked ("cancel" on Escape).
  function answerOf(el, dialog, focus) {
    return new Promise((resolve) => {
      dialog.querySelectorAll(".wf-actions button").forEach((b) => b.addEventListener("click", () => resolve(b.value)));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); resolve("cancel"); });
      el.append(dialog);
      dialog.showModal();
      if (focus) focus.focus();
    });
  }

  // The capability checkboxes of a form or dialog, ``checked`` ticked at first.
  function capabilityChecks(checked) {
    return CAPABILITIES.map(([c, label]) => h("label", { class: "wf-check" },
      h("input", { type: "checkbox", value: c, checked: checked.includes(c), "data-field": "capabilities" }), label));
  }

  function checkedValues(labels) {
    return labels.map((l) => l.querySelector("input")).filter((i) => i.checked && !i.disabled).map((i) => i.value);
  }

  // Which capabilities a key of this scope and identity may have (the API refuses the others, naming them).
  function allowedFor(scope, schemes, headersSource) {
    const proves = schemes.includes("oidc") || schemes.includes("proxy");
    const browserOnly = schemes.includes("headers") && headersSource !== "server" && !proves;
    return (BY_SCOPE[scope] || []).filter((c) => !(scope === "app" && browserOnly && (c === "decide" || c === "cancel_retry")));
  }

  function identityText(identity) {
    const schemes = (identity && identity.schemes) || [];
    const headers = schemes.includes("headers") ? ` (headers filled in the ${identity.headers_source === "server" ? "host's server" : "browser"})` : "";
    return schemes.join(", ") + headers + (identity && identity.has_signature_secret ? " + host signature" : "");
  }

  async function changeCapabilities(key, el) {
    const allowed = allowedFor(key.scope, key.identity.schemes || [], key.identity.headers_source);
    const checks = capabilityChecks(key.capabilities || []);
    checks.forEach((l) => { const i = l.querySelector("input"); i.disabled = !allowed.includes(i.value); });
    const dialog = h("dialog", { "aria-labelledby": "caps-title" },
      h("h2", { id: "caps-title" }, `What “${key.name}” may do`),
      h("div", { class: "wfs-checks", role: "group", "aria-labelledby": "caps-title" }, checks),
      allowed.length < (BY_SCOPE[key.scope] || []).length ? h("p", { class: "wf-help" },
        "Greyed out: this key's users are named in headers a browser fills, so it never decides, cancels or retries.") : null,
      h("div", { class: "wf-actions" }, h("button", { class: "wf-btn wf-btn-primary", value: "ok", type: "button" }, "Save"),
        h("button", { class: "wf-btn", value: "cancel", type: "button" }, "Cancel")));
    const answer = await answerOf(el, dialog);
    const capabilities = checkedValues(checks);
    dialog.close();
    dialog.remove();
    if (answer !== "ok") return;
    try {
      await S.call("PATCH", `/api/v1/keys/${encodeURIComponent(key.id)}`, { capabilities });
      S.announce(`Capabilities of ${key.name} changed`);
      await S.load("keys");
      S.load("audit");
    } catch (err) {
      if (err.status !== 401) el.querySelector(".wfs-keys-feedback").replaceChildren(S.errorBox(err, "Not changed"));
    }
  }

  function keyRow(key, el) {
    const actions = key.bootstrap ? h("span", { class: "wfs-badge", title: "Set by WORKFLOWS_ADMIN_KEY / WORKFLOWS_APP_KEY" }, "from environment")
      : h("div", { class: "wf-actions", style: "justify-content:flex-end" },
        S.button("May…", () => changeCapabilities(key, el), null, { "aria-label": `Capabilities of ${key.name}` }),
        S.button("Rotate", () => rotate(key, el), null, { "aria-label": `Rotate ${key.name}` }),
        S.button("Revoke", () => revoke(key, el), "danger", { "aria-label": `Revoke ${key.name}` }));
    return h("tr", { "data-key": key.id },
      h("td", {}, h("strong", {}, key.name), key.query ? h("div", { class: "wf-help" }, `query ${key.query}`) : null),
      h("td", {}, h("span", { class: "wf-chip", "data-scope": key.scope }, key.scope)),
      h("td", {}, key.prefix ? h("code", {}, `${key.prefix}…`) : "—"),
      h("td", {}, identityText(key.identity)),
      h("td", { "data-capabilities": "" }, (key.capabilities || []).join(", ") || "nothing"),
      h("td", {}, key.bootstrap ? "—" : WF.when(key.last_used_at)),
      h("td", {}, key.expires_at ? WF.when(key.expires_at) : "never"),
      h("td", { class: "wfs-end" }, actions));
  }

  function createForm(el) {
    const name = h("input", { id: "key-name", name: "name", "data-field": "name", placeholder: "e.g. Appsmith production", maxlength: 100 });
    const scope = h("select", { id: "key-scope", name: "scope", "data-field": "scope" },
      h("option", { value: "app" }, "app: what a host's datasource uses"), h("option", { value: "admin" }, "admin: settings, keys, all runs"),
      h("option", { value: "webhook" }, "webhook: one query's trigger"));
    const query = h("select", { id: "key-query", name: "query", "data-field": "query" },
      queries.map((q) => h("option", { value: q.name }, q.label ? `${q.label} (${q.name})` : q.name)));
    const queryField = field("Query", query, "The one query this webhook key may trigger");
    const expires = h("input", { id: "key-expires", type: "datetime-local", "data-field": "expires_at" });
    const checks = ["headers", "oidc", "proxy"].map((s) => h("label", { class: "wf-check" },
      h("input", { type: "checkbox", value: s, checked: s === "headers", "data-field": "identity.schemes" }),
      { headers: "Trusted X-Workflows-User headers", oidc: "User tokens (OIDC)", proxy: "Identity-aware proxy" }[s]));
    const preset = h("select", { id: "key-preset", "data-field": "identity.proxy.preset" },
      ["pomerium", "cloudflare_access", "google_iap", "oauth2_proxy"].map((p) => h("option", { value: p }, p.replace(/_/g, " "))));
    const presetField = field("Proxy preset", preset);
    const serverHeaders = h("label", { class: "wf-check" }, h("input", { type: "checkbox", id: "key-headers-server", "data-field": "identity.headers_source" }),
      "The host fills these headers on its server (Retool, ToolJet Enterprise, Budibase query headers)");
    const caps = capabilityChecks(["read", "trigger"]);
    let capsTouched = false;
    caps.forEach((l) => l.addEventListener("change", () => { capsTouched = true; }));
    const issuer = h("input", { id: "key-issuer", "data-field": "identity.oidc.issuer", placeholder: "the identity defaults' issuer" });
    const audiences = h("input", { id: "key-audiences", "data-field": "identity.oidc.audiences", placeholder: "comma-separated" });
    const oidcFields = h("div", { class: "wf-grid2" }, field("OIDC issuer", issuer, "Leave both empty to use the identity defaults"),
      field("OIDC audiences", audiences));
    const secret = h("input", { id: "key-signature", type: "password", autocomplete: "off", "data-field": "signature_secret",
      placeholder: "optional, at least 32 characters" });
    const schemesOf = () => checks.map((c) => c.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    const sync = () => {
      queryField.hidden = scope.value !== "webhook";
      presetField.hidden = !checks[2].querySelector("input").checked;
      oidcFields.hidden = !checks[1].querySelector("input").checked;
      serverHeaders.hidden = !checks[0].querySelector("input").checked;
      const allowed = allowedFor(scope.value, schemesOf(), serverHeaders.querySelector("input").checked ? "server" : "browser");
      caps.forEach((l) => {
        const box = l.querySelector("input");
        box.disabled = !allowed.includes(box.value);
        if (!capsTouched || box.disabled) box.checked = allowed.includes(box.value);
      });
    };
    scope.addEventListener("change", sync);
    checks.forEach((c) => c.addEventListener("change", sync));
    serverHeaders.addEventListener("change", sync);
    const feedback = h("div", { "aria-live": "polite" });
    const form = h("form", { class: "wfs-create", novalidate: true, "aria-labelledby": "create-key-title" },
      h("h3", { id: "create-key-title" }, "Create a key"),
      h("div", { class: "wf-grid2" }, field("Name", name), field("Scope", scope), queryField,
        field("Expires", expires, "Optional; your local time")),
      h("div", { class: "wf-field" }, h("span", { class: "wf-label", id: "schemes-label" }, "Who the key's users are proven by"),
        h("div", { class: "wfs-checks", role: "group", "aria-labelledby": "schemes-label" }, checks), serverHeaders),
      oidcFields,
      h("div", { class: "wf-field" }, h("span", { class: "wf-label", id: "caps-label" }, "What the key may do"),
        h("div", { class: "wfs-checks", role: "group", "aria-labelledby": "caps-label" }, caps),
        h("div", { class: "wf-help" }, "A key whose users are named in headers a browser fills never decides, cancels or retries: prove users with tokens, or tick the server box above if it is true.")),
      h("div", { class: "wf-grid2" }, presetField,
        field("Host signature secret", secret, "Appsmith's datasource signature key; never shown again")),
      feedback, h("button", { class: "wf-btn wf-btn-primary", type: "submit" }, "Create key"));
    sync();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const schemes = schemesOf();
      const body = { name: name.value.trim(), scope: scope.value, identity: { schemes }, capabilities: checkedValues(caps) };
      if (schemes.includes("headers") && serverHeaders.querySelector("input").checked) body.identity.headers_source = "server";
      if (scope.value === "webhook") body.query = query.value;
      if (expires.value) body.expires_at = new Date(expires.value).toISOString();
      if (schemes.includes("proxy")) body.identity.proxy = { preset: preset.value };
      if (schemes.includes("oidc") && (issuer.value.trim() || audiences.value.trim())) {
        body.identity.oidc = { issuer: issuer.value.trim(), audiences: audiences.value.split(",").map((a) => a.trim()).filter(Boolean) };
      }
      if (secret.value) body.signature_secret = secret.value;
      if (!body.name) {
        S.fieldErrors(form, { fieldErrors: () => ({ name: "Give the key a name." }) });
        return;
      }
      form.querySelector('button[type="submit"]').disabled = true;
      try {
        const created = await S.call("POST", "/api/v1/keys", body);
        shown = { title: `Key “${created.name}” created. Copy it now: it is shown only this once.`, secret: created.secret };
        S.announce("Key created");
        await S.load("keys");
        S.load("audit");
      } catch (err) {
        form.querySelector('button[type="submit"]').disabled = false;
        if (err.status === 401) return;
        const unplaced = err.status === 422 ? S.fieldErrors(form, err) : ["_"];
        WF.clear(feedback, unplaced.length ? S.errorBox(err, "Not created") : WF.alert("error", "Some fields need attention"));
      }
    });
    return form;
  }

  async function rotate(key, el) {
    const grace = h("select", { id: "rotate-grace" }, GRACE.map(([v, t]) => h("option", { value: v }, t)));
    const dialog = h("dialog", { "aria-labelledby": "rotate-title" },
      h("h2", { id: "rotate-title" }, `Rotate “${key.name}”?`),
      h("p", { class: "wf-muted" }, "A new secret is made and shown once. The old secret:"),
      h("div", { class: "wf-field" }, h("label", { for: "rotate-grace" }, "Old secret"), grace),
      h("div", { class: "wf-actions" }, h("button", { class: "wf-btn wf-btn-primary", value: "ok", type: "button" }, "Rotate"),
        h("button", { class: "wf-btn", value: "cancel", type: "button" }, "Keep it")));
    const answer = await answerOf(el, dialog, grace);
    const seconds = Number(grace.value);
    dialog.close();
    dialog.remove();
    if (answer !== "ok") return;
    try {
      const rotated = await S.call("POST", `/api/v1/keys/${encodeURIComponent(key.id)}/rotate`, { grace_seconds: seconds });
      shown = { title: `New secret for “${key.name}”. Copy it now: it is shown only this once. ${seconds ? `The old one works for ${S.seconds(seconds)} more.` : "The old one no longer works."}`, secret: rotated.secret };
      await S.load("keys");
      S.load("audit");
    } catch (err) {
      if (err.status !== 401) el.querySelector(".wfs-keys-feedback").replaceChildren(S.errorBox(err, "Not rotated"));
    }
  }

  async function revoke(key, el) {
    const sure = await WF.confirm(el, `Revoke “${key.name}”?`,
      "Every call with this key is refused from now on, on every API process. This cannot be undone.", "Revoke key");
    if (!sure) return;
    try {
      await S.call("DELETE", `/api/v1/keys/${encodeURIComponent(key.id)}`);
      S.announce(`Key ${key.name} revoked`);
      await S.load("keys");
      el.querySelector(".wfs-keys-feedback").replaceChildren(WF.alert("success", `“${key.name}” is revoked.`));
      S.load("audit");
    } catch (err) {
      if (err.status !== 401) el.querySelector(".wfs-keys-feedback").replaceChildren(S.errorBox(err, "Not revoked"));
    }
  }

  S.register("keys", async (el) => {
    const [list, offered] = await Promise.all([S.call("GET", "/api/v1/keys"), S.call("GET", "/api/v1/queries")]);
    queries = offered.queries || [];
    const secret = shown ? S.secretBox(shown.title, shown.secret, "Stored only as a hash: if it is lost, rotate the key.") : null;
    shown = null; // shown once: the next load of this section no longer has it
    const table = h("div", { class: "wfs-table-wrap" }, h("table", { class: "wf-table", "aria-label": "API keys" },
      h("thead", {}, h("tr", {}, ["Name", "Scope", "Key", "Identity", "May", "Last used", "Expires"].map((t) => h("th", { scope: "col" }, t)),
        h("th", { scope: "col", class: "wfs-end" }, h("span", { class: "wf-sr" }, "Actions")))),
      h("tbody", {}, list.keys.map((k) => keyRow(k, el)))));
    WF.clear(el, S.head("keys", "API keys", "Stored hashed; a key is shown only when made or rotated"),
      secret, h("div", { class: "wfs-keys-feedback", "aria-live": "polite" }), table, createForm(el));
  });
})(typeof window !== "undefined" ? window : globalThis);
