// The settings page's shared state and helpers: the admin key's API client (memory only), section headers,
// errors as people read them, durations, a copy button. Each section file registers a loader here.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const page = document.getElementById("settings-root");

  const S = (WF.settings = {
    api: null, // WF.Api with the admin key; null when signed out (the key lives nowhere else)
    loaders: {},

    register(id, load) { S.loaders[id] = load; },

    announce(text) { page.querySelector(".wf-announce").textContent = text; },

    // A call with the admin key; a 401 means the key stopped working: sign out and say so.
    async call(method, path, body, params) {
      if (!S.api) throw new WF.ApiError(401, { error: { message: "Signed out" } });
      try {
        return await S.api.call(method, path, body, params);
      } catch (err) {
        if (err.status === 401 && S.onUnauthorized) S.onUnauthorized(err);
        throw err;
      }
    },

    section(id) { return document.getElementById(id); },

    // <header><div><h2 id="ID-title">title</h2><p>text</p></div> actions</header>
    head(id, title, text, ...actions) {
      return h("header", {}, h("div", {}, h("h2", { id: `${id}-title` }, title), text ? h("p", {}, text) : null),
        actions.length ? h("div", { class: "wf-actions" }, actions) : null);
    },

    message(err) {
      if (!err) return "Something went wrong";
      if (err.status === 0) return "Cannot reach the plugin; check the connection and try again";
      if (err.status === 503) return `${err.message} (the service may be restarting; try again in a moment)`;
      return err.message || "Something went wrong";
    },

    errorBox(err, what) {
      return WF.alert("error", `${what ? `${what}: ` : ""}${S.message(err)}`);
    },

    // Load a section: its loader fills it; a failure is shown in the section instead of its content.
    async load(id) {
      const el = S.section(id);
      try {
        await S.loaders[id](el);
      } catch (err) {
        if (err.status === 401) return;
        const title = el.querySelector("h2") ? el.querySelector("h2").textContent : id;
        WF.clear(el, S.head(id, title, ""), S.errorBox(err, `Could not load ${title.toLowerCase()}`),
          h("button", { class: "wf-btn wf-btn-sm", type: "button", onclick: () => S.load(id) }, "Try again"));
      }
    },

    button(label, onclick, kind, attrs) {
      return h("button", { class: `wf-btn wf-btn-sm${kind ? ` wf-btn-${kind}` : ""}`, type: "button", onclick, ...attrs },
        label);
    },

    // "2 h", "30 min", "7 days"
    seconds(value) {
      if (value === null || value === undefined || value === "") return "—";
      const s = Number(value);
      if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? "" : "s"}`;
      if (s % 3600 === 0) return `${s / 3600} h`;
      if (s % 60 === 0) return `${s / 60} min`;
      return `${s} s`;
    },

    chip(status, label) {
      return h("span", { class: "wf-chip", "data-status": status }, label || status);
    },

    // A secret shown once, with a copy button.
    secretBox(title, secret, note) {
      const code = h("code", { "data-secret": "" }, secret);
      const copy = h("button", { class: "wf-btn wf-btn-sm", type: "button" }, "Copy");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(secret);
          copy.textContent = "Copied";
        } catch (_) {
          const range = document.createRange();
          range.selectNodeContents(code);
          const selection = root.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          copy.textContent = "Selected: press Ctrl+C";
        }
        S.announce("Key copied");
      });
      return h("div", { class: "wfs-secret", role: "status" }, h("strong", {}, title),
        h("div", { class: "wfs-secret-row" }, code, copy), h("div", { class: "wf-help" }, note));
    },

    // Field errors of a 422 put next to the inputs named by data-field; returns the names not placed.
    fieldErrors(container, err) {
      container.querySelectorAll(".wf-field-error").forEach((e) => e.remove());
      container.querySelectorAll('[aria-invalid="true"]').forEach((e) => e.removeAttribute("aria-invalid"));
      const unplaced = [];
      for (const [name, text] of Object.entries(err && err.fieldErrors ? err.fieldErrors() : {})) {
        const input = container.querySelector(`[data-field="${CSS.escape(name)}"]`)
          || container.querySelector(`[data-field="${CSS.escape(name.split(".").slice(0, 2).join("."))}"]`)
          || container.querySelector(`[data-field="${CSS.escape(name.split(".")[0])}"]`);
        if (!input) { unplaced.push(name); continue; }
        input.setAttribute("aria-invalid", "true");
        const id = `${input.id || name.replace(/\W/g, "-")}-error`;
        input.setAttribute("aria-describedby", id);
        input.closest(".wf-field").append(h("div", { class: "wf-field-error", id }, text));
      }
      const first = container.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      return unplaced;
    },
  });
})(typeof window !== "undefined" ? window : globalThis);
