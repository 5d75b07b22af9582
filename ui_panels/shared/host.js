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
    if (theme.boxShadow && theme.boxShadow !== "none") set("--wf-shadow", theme.boxShadow);
  }

  function uiSize(el, ui) {
    if (ui && ui.height) { el.style.height = `${ui.height}px`; el.style.overflow = "auto"; }
  }

  const listeners = { model: [], theme: [], ui: [] };
  const emit = (kind, value) => listeners[kind].forEach((fn) => fn(value || {}));

  const appsmith = root.appsmith;
  const shadow = !appsmith && root.customWidget;
  const host = {
    mode: appsmith || shadow ? "bound" : "standalone",
    kind: appsmith ? "appsmith" : shadow ? "shadow" : "page",
    model: {},
    ready: false,
    config: standaloneConfig,

    onModel(fn) { listeners.model.push(fn); },
    onTheme(fn) { listeners.theme.push(fn); },
    onUi(fn) { listeners.ui.push(fn); },

    // Run `start` once the host is ready; theme and size follow the host on `rootEl`.
    start(rootEl, start) {
      host.onTheme((t) => themeVars(rootEl, t));
      host.onUi((u) => uiSize(rootEl, u));
      const go = () => { host.ready = true; start(); };
      if (appsmith) {
        appsmith.onReady(() => {
          // Registered here, not earlier: a listener registered before ready sees {} once and never again.
          appsmith.onModelChange((m) => { host.model = m || {}; emit("model", host.model); });
          appsmith.onThemeChange && appsmith.onThemeChange((t) => emit("theme", t));
          appsmith.onUiChange && appsmith.onUiChange((u) => emit("ui", u));
          go();
          host.model = appsmith.model || host.model;
          emit("model", host.model);
        });
      } else if (shadow) {
        const on = (name, kind) => {
          const handler = (e) => { if (kind === "model") host.model = e.detail || {}; emit(kind, e.detail); };
          root.addEventListener(name, handler);
          if (root.document) root.document.addEventListener(name, handler);
        };
        on("model-update", "model");
        on("ui-update", "ui");
        on("theme-update", "theme");
        go();
        if (shadow.model) { host.model = shadow.model; emit("model", host.model); }
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
