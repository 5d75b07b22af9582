// Runtime settings: each value in force with where it comes from (changed here, environment, default) and
// a reset to the environment's value. Saving sends only what changed; a 422 marks the fields and nothing
// is applied. In force on every API and worker process within a second, without a restart.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;
  const SOURCE = { runtime: "changed here", environment: "from environment", default: "default" };
  const LABELS = {
    cors_origins: "CORS origins", http_allow_hosts: "HTTP allow-list", notify_url: "Notification URL",
    request_defaults: "Request defaults", identity_defaults: "Identity defaults (OIDC)",
  };
  const HELP = {
    cors_origins: "Browser pages on these origins may call the API (panels hosted elsewhere, custom widgets).",
    http_allow_hosts: "Hosts inside your network that http steps may call; everything else inside is refused.",
    notify_url: "Where the plugin POSTs notices: a request assigned, a reminder, an escalation.",
    request_defaults: "For requests whose workflow sets no due time or reminders; runs keep the defaults they started with.",
    identity_defaults: "The identity provider that keys accepting user tokens verify against, unless a key has its own.",
  };
  const lines = (list) => (list || []).join("\n");
  const unlines = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  const num = (text) => (text.trim() === "" ? null : Number(text));

  function input(id, field, value, attrs) {
    return h("input", { id, "data-field": field, value: value === null || value === undefined ? "" : String(value), ...attrs });
  }

  function field(label, control, help) {
    return h("div", { class: "wf-field" }, h("label", { for: control.id }, label), control,
      help ? h("div", { class: "wf-help" }, help) : null);
  }

  // name -> {controls: [fields...], read(): value}
  function editors(settings) {
    const v = (name) => settings[name].value;
    const origins = h("textarea", { id: "set-cors", "data-field": "cors_origins", rows: 3, spellcheck: "false", placeholder: "https://apps.example.com" }, lines(v("cors_origins")));
    const hosts = h("textarea", { id: "set-allow", "data-field": "http_allow_hosts", rows: 3, spellcheck: "false", placeholder: "billing.internal:8443" }, lines(v("http_allow_hosts")));
    const notify = input("set-notify", "notify_url", v("notify_url"), { type: "url", placeholder: "https://hooks.example.com/workflows" });
    const d = v("request_defaults") || {};
    const due = input("set-due", "request_defaults.due_in_seconds", d.due_in_seconds, { type: "number", min: 1, placeholder: "none" });
    const remind = input("set-remind", "request_defaults.remind_every_seconds", d.remind_every_seconds, { type: "number", min: 1, placeholder: "none" });
    const max = input("set-max", "request_defaults.max_reminders", d.max_reminders, { type: "number", min: 0, max: 50, placeholder: "3" });
    const o = (v("identity_defaults") || {}).oidc || {};
    const issuer = input("set-issuer", "identity_defaults.oidc.issuer", o.issuer, { placeholder: "https://login.example.com/" });
    const jwks = input("set-jwks", "identity_defaults.oidc.jwks_url", o.jwks_url, { placeholder: "https://login.example.com/.well-known/jwks.json" });
    const aud = input("set-aud", "identity_defaults.oidc.audiences", (o.audiences || []).join(", "), { placeholder: "workflows-plugin" });
    return {
      cors_origins: { controls: [field("Origins, one per line", origins, "scheme://host[:port], null (sandboxed custom widgets) or *")], read: () => unlines(origins.value) },
      http_allow_hosts: { controls: [field("Hosts, one per line", hosts, "host or host:port that http steps may call inside the network")], read: () => unlines(hosts.value) },
      notify_url: { controls: [field("URL", notify, "Assigned, reminder and escalation notices are POSTed here")], read: () => notify.value.trim() || null },
      request_defaults: {
        controls: [h("div", { class: "wf-grid2" }, field("Due after (seconds)", due), field("Remind every (seconds)", remind),
          field("At most reminders", max))],
        read: () => {
          const out = {};
          if (num(due.value) !== null) out.due_in_seconds = num(due.value);
          if (num(remind.value) !== null) out.remind_every_seconds = num(remind.value);
          if (num(max.value) !== null) out.max_reminders = num(max.value);
          return out;
        },
      },
      identity_defaults: {
        controls: [field("Issuer", issuer), field("JWKS URL", jwks), field("Audiences, comma-separated", aud)],
        read: () => {
          if (!issuer.value.trim() && !jwks.value.trim() && !aud.value.trim()) return { oidc: null };
          return { oidc: { ...o, issuer: issuer.value.trim(), jwks_url: jwks.value.trim(), audiences: unlines(aud.value) } };
        },
      },
    };
  }

  function describe(name, s) {
    const env = s.env ? h("code", {}, s.env) : "none (no environment variable)";
    return h("div", { class: "wfs-setting-head" }, h("span", { class: "wf-label" }, LABELS[name]),
      h("div", { class: "wf-help" }, HELP[name] || s.description),
      h("div", { class: "wfs-setting-source" }, h("span", { class: "wfs-badge", "data-source": s.source, "data-setting-source": name }, SOURCE[s.source]),
        h("span", { class: "wf-help" }, "default: ", env)));
  }

  S.register("runtime", async (el) => {
    const data = await S.call("GET", "/api/v1/settings");
    const eds = editors(data.settings);
    const original = Object.fromEntries(Object.keys(eds).map((n) => [n, JSON.stringify(eds[n].read())]));
    const feedback = h("div", { "aria-live": "polite" });
    const form = h("form", { novalidate: true, "aria-labelledby": "runtime-title" });
    for (const name of Object.keys(eds)) {
      const s = data.settings[name];
      const reset = s.source === "runtime"
        ? S.button("Reset to environment", () => save(form, feedback, { [name]: null }), null, { "aria-label": `Reset ${LABELS[name]} to the environment's value` }) : null;
      form.append(h("div", { class: "wfs-setting", "data-setting": name }, describe(name, s), h("div", {}, eds[name].controls, reset)));
    }
    form.append(h("div", { class: "wfs-form-actions" }, h("button", { class: "wf-btn wf-btn-primary", type: "submit" }, "Save changes"),
      h("span", { class: "wf-help" }, "In force on every API and worker process within a second; no restart.")), feedback);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const changes = {};
      for (const name of Object.keys(eds)) {
        const value = eds[name].read();
        if (JSON.stringify(value) !== original[name]) changes[name] = value;
      }
      if (!Object.keys(changes).length) {
        WF.clear(feedback, WF.alert("info", "Nothing changed."));
        return;
      }
      save(form, feedback, changes);
    });
    WF.clear(el, S.head("runtime", "Runtime settings", "Stored in Redis; the environment's values are the defaults"), form);
  });

  async function save(form, feedback, changes) {
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await S.call("PATCH", "/api/v1/settings", changes);
      await S.load("runtime");
      const el = S.section("runtime");
      el.querySelector(".wfs-form-actions").after(WF.alert("success", `Saved: ${Object.keys(changes).map((n) => LABELS[n]).join(", ")}. In force within a second.`));
      S.announce("Settings saved");
      S.load("audit");
    } catch (err) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      if (err.status === 401) return;
      const unplaced = err.status === 422 ? S.fieldErrors(form, err) : ["_"];
      WF.clear(feedback, WF.alert("error", unplaced.length ? `Not saved: ${S.message(err)}` : "Not saved: some fields need attention (nothing was changed)"));
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
