// The host adapter: one face for a panel, whatever it runs in.
// - bound, "appsmith": inside a custom widget's sandboxed iframe, with the global `appsmith` the host
//   injects (data in through the model, actions out through triggerEvent; everything registered in onReady);
// - bound, "shadow": a host that renders custom widgets in a Shadow DOM with `window.customWidget` and
//   model-update / ui-update / theme-update DOM events;
// - standalone: a plain page or iframe widget that calls the plugin API itself (config from the URL fragment
//   `#key=...&user=...&groups=...` or window.WF_CONFIG; never from storage, which a sandbox forbids).
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});

  // Only plain JSON may cross: a function in a message stops every later message of the panel.
  function plain(value) {
    return value === undefined ? {} : JSON.parse(JSON.stringify(value));
  }

  function standaloneConfig() {
    const given = root.WF_CONFIG || {};
    const params = new URLSearchParams((root.location && root.location.hash || "").replace(/^#/, ""));
    const config = { base: "", key: "", user: "", groups: "", identity: "", ...given };
    for (const [name, value] of params) config[name] = value;
    return config;
  }

  function themeVars(el, theme) {
    if (!theme) return;
    const set = (name, value) => { if (value) el.style.setProperty(name, value); };
    set("--wf-primary", theme.primaryColor);
    set("--wf-bg", theme.backgroundColor);
    if (theme.borderRadius) set("--wf-radius", /^\d+(\.\d+)?$/.test(String(theme.borderRadius)) ? `${theme.borderRadius}px` : theme.borderRadius);
    if (theme.boxShadow) set("--wf-shadow", theme.boxShadow); // "none" too: the app asked for flat cards
  }

  // The Default Model as the app wired it. Appsmith substitutes a quoted binding ("{{GetRequests.data}}") as
  // text: objects arrive as JSON strings and a query that has not run as the string "undefined". Such values
  // are read back into data, and the panel says what is mis-wired (one binding keeps objects:
  // {{ {requests: GetRequests.data} }}).
  function normaliseModel(raw) {
    const problems = [];
    let model = raw;
    if (typeof model === "string") {
      try { model = JSON.parse(model); } catch (err) { model = {}; }
      problems.push("the Default Model arrived as text");
    }
    if (!model || typeof model !== "object" || Array.isArray(model)) {
      if (model !== undefined && model !== null) problems.push("the Default Model is not an object");
      model = {};
    }
    const out = {};
    const quoted = [];
    for (const [key, value] of Object.entries(model)) {
      if (typeof value !== "string") { out[key] = value; continue; }
      const text = value.trim();
      if (text === "undefined" || text === "null") { out[key] = null; quoted.push(key); continue; }
      if (/^[[{]/.test(text)) {
        try { out[key] = JSON.parse(text); quoted.push(key); continue; } catch (err) { /* plain text */ }
      }
      out[key] = value;
    }
    if (!Object.keys(model).length) problems.push("the Default Model is empty ({}): either it was never set, or its text is not valid JSON once the bindings are filled in (a quoted {{ }} around an object breaks it)");
    if (quoted.length) problems.push(`${quoted.map((k) => `“${k}”`).join(", ")} arrived as text, not data (a quoted binding)`);
    return { model: out, problems };
  }

  function wiringNotice(el, problems) {
    let box = el.querySelector(":scope > .wf-wiring");
    if (!problems.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.className = "wf-alert wf-alert-warning wf-wiring";
      box.setAttribute("role", "note");
      el.prepend(box);
    }
    const keys = Object.keys(host.model).filter((k) => k !== "user");
    const example = `{{ {${(keys.length ? keys : ["requests"]).map((k) => `${k}: ${k === "requests" ? "GetRequests.data" : "Query.data"}`).join(", ")}} }}`;
    box.textContent = `This widget is mis-wired: ${problems.join("; ")}. Write its Default Model as one binding that ` +
      `yields an object, e.g. ${example}, not JSON with quoted {{ }} inside.`;
  }

  const listeners = { model: [], theme: [], ui: [] };
  const emit = (kind, value) => listeners[kind].forEach((fn) => fn(value || {}));

  const appsmith = root.appsmith;
  const shadow = !appsmith && root.customWidget;
  const host = {
    mode: appsmith || shadow ? "bound" : "standalone",
    kind: appsmith ? "appsmith" : shadow ? "shadow" : "page",
    model: {},
    problems: [],
    ready: false,
    normaliseModel,
    config: standaloneConfig,

    onModel(fn) { listeners.model.push(fn); },
    onTheme(fn) { listeners.theme.push(fn); },
    onUi(fn) { listeners.ui.push(fn); },

    // Run `start` once the host is ready; theme and size follow the host on `rootEl`.
    // Run `start` once the host is ready; the theme follows the host on `rootEl`. The height is not pinned to
    // the widget's: the content decides it, so a host with Auto Height grows the widget to fit.
    start(rootEl, start) {
      host.onTheme((t) => themeVars(rootEl, t));
      const setModel = (raw) => {
        const { model, problems } = normaliseModel(raw);
        host.model = model;
        host.problems = problems;
        wiringNotice(rootEl, problems);
        emit("model", host.model);
      };
      const go = () => { host.ready = true; start(); };
      if (appsmith) {
        appsmith.onReady(() => {
          go();
          // Registered here, not earlier: a listener registered before ready sees {} once and never again.
          // onModelChange calls the listener at once with the current model.
          appsmith.onModelChange((m) => setModel(m));
          appsmith.onThemeChange && appsmith.onThemeChange((t) => emit("theme", t));
          appsmith.onUiChange && appsmith.onUiChange((u) => emit("ui", u));
        });
      } else if (shadow) {
        const on = (name, kind) => {
          const handler = (e) => {
            const detail = e.detail && e.detail[kind] !== undefined ? e.detail[kind] : e.detail;
            if (kind === "model") setModel(detail); else emit(kind, detail);
          };
          root.addEventListener(name, handler);
          if (root.document) root.document.addEventListener(name, handler);
        };
        on("model-update", "model");
        on("ui-update", "ui");
        on("theme-update", "theme");
        go();
        if (shadow.model) setModel(shadow.model);
      } else if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", go);
      } else go();
    },

    // Ask the host to run an action (bound mode): sent only after ready, and only as plain JSON.
    trigger(eventName, context) {
      if (!host.ready) throw new Error("The host is not ready yet");
      const target = appsmith || shadow;
      if (target) target.triggerEvent(eventName, plain(context));
    },

    update(values) {
      if (!host.ready) return;
      const target = appsmith || shadow;
      if (target) target.updateModel(plain(values));
    },
  };
  WF.host = host;
})(typeof window !== "undefined" ? window : globalThis);
