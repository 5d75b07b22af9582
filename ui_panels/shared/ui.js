// Small DOM helpers shared by every panel: element builder, times, status chips, empty/loading states.
// Plain script (no module), so a panel's export can be pasted into a host's custom widget as one JS part.
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});

  // h("button", {class: "wf-btn", onclick: fn}, "Approve") -> element; null/false children are skipped.
  WF.h = function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else if (name in el && typeof value !== "string") el[name] = value;
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  };

  WF.clear = function clear(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return el;
  };

  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600],
    ["minute", 60], ["second", 1]];
  const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

  // "in 2 days", "5 minutes ago"
  WF.relTime = function relTime(iso, now) {
    if (!iso) return "";
    const seconds = (new Date(iso).getTime() - (now || Date.now())) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size || unit === "second") return RELATIVE.format(Math.round(seconds / size), unit);
    }
    return "";
  };

  WF.clock = function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const sameDay = d.toDateString() === new Date().toDateString();
    const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : `${d.toLocaleDateString("en-GB", { day: "numeric", month: "short" })} ${time}`;
  };

  WF.when = function when(iso) {
    return iso ? WF.h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, WF.relTime(iso)) : "—";
  };

  WF.duration = function duration(startIso, endIso) {
    if (!startIso) return "";
    const ms = (endIso ? new Date(endIso) : new Date()) - new Date(startIso);
    if (ms < 1000) return `${Math.max(ms, 0)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${Math.round(ms / 60000)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  };

  const STATUS_LABELS = { timed_out: "timed out" };
  WF.chip = function chip(status) {
    return WF.h("span", { class: "wf-chip", "data-status": status }, STATUS_LABELS[status] || status);
  };

  WF.empty = function empty(icon, title, text) {
    return WF.h("div", { class: "wf-empty", role: "status" }, WF.h("div", { class: "wf-empty-icon", "aria-hidden": "true" }, icon),
      WF.h("strong", {}, title), text ? WF.h("span", {}, text) : null);
  };

  WF.skeleton = function skeleton(count) {
    return WF.h("div", { "aria-busy": "true", "aria-label": "Loading" },
      Array.from({ length: count || 3 }, () => WF.h("div", { class: "wf-skeleton" })));
  };

  WF.alert = function alert(kind, text) {
    return WF.h("div", { class: `wf-alert wf-alert-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  };

  // A compact table of a flat object (request metadata, run input).
  WF.kvTable = function kvTable(obj, caption) {
    const rows = Object.entries(obj || {}).map(([k, v]) =>
      WF.h("tr", {}, WF.h("th", { scope: "row" }, k), WF.h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))));
    return rows.length ? WF.h("table", { class: "wf-kv" }, caption ? WF.h("caption", { class: "wf-sr" }, caption) : null, WF.h("tbody", {}, rows)) : null;
  };

  WF.json = function json(value) {
    return WF.h("pre", {}, value === undefined || value === null ? "—" : JSON.stringify(value, null, 2));
  };

  // Answers can come back out of order (a slow answer to an earlier refresh after a later one's): only the
  // latest asked may be shown. `const loads = WF.latest();` then per load `const latest = loads();` and show the
  // answer, or its error, only `if (latest())`.
  WF.latest = function latest() {
    let asked = 0;
    return () => {
      const mine = ++asked;
      return () => mine === asked;
    };
  };

  // Ask before doing something; resolves true/false. Uses <dialog> (works in a sandboxed iframe).
  WF.confirm = function confirm(container, title, text, okLabel) {
    return new Promise((resolve) => {
      const ok = WF.h("button", { class: "wf-btn wf-btn-primary", type: "button" }, okLabel || "Confirm");
      const cancel = WF.h("button", { class: "wf-btn", type: "button" }, "Keep it");
      const dialog = WF.h("dialog", { "aria-labelledby": "wf-dialog-title" },
        WF.h("h2", { id: "wf-dialog-title" }, title), WF.h("p", { class: "wf-muted" }, text),
        WF.h("div", { class: "wf-actions" }, ok, cancel));
      const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
      ok.addEventListener("click", () => done(true));
      cancel.addEventListener("click", () => done(false));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
      container.append(dialog);
      dialog.showModal();
      cancel.focus();
    });
  };
})(typeof window !== "undefined" ? window : globalThis);
