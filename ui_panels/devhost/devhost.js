// The dev host: a DEMO of the panels, not Appsmith. Custom widgets are hosted as Appsmith hosts them: the srcDoc
// composed in Appsmith's order (reset.css, an empty console script, widget-host.js as a module then main(), the
// panel's HTML, its JS as a module, its CSS last) in a sandboxed iframe (no allow-same-origin), every message
// acknowledged by key, READY answered with READY_ACK, heights applied as with Auto Height. What differs from
// Appsmith is the data: this page calls the plugin's API itself and answers each widget's events with the
// results, where an Appsmith app binds queries (the Appsmith setup is proven by tests/hosts/: its recipe runs in
// an Appsmith emulator). Iframe widgets load a panel standalone. Identity comes from the form
// (or #key=...&user=...&groups=...), as an app would send it.
(function () {
  "use strict";
  const { h } = WF;
  const SANDBOX = "allow-forms allow-modals allow-orientation-lock allow-pointer-lock allow-popups allow-scripts";
  const THEME = { primaryColor: "#553DE9", backgroundColor: "#FFFFFF", borderRadius: "6px", boxShadow: "none" };
  const widgetsEl = document.getElementById("widgets");
  const statusEl = document.getElementById("host-status");
  const liveEl = document.getElementById("host-live");
  const form = document.getElementById("identity");
  const field = (id) => document.getElementById(id);
  let api = null;
  let stream = null;
  const mounted = [];

  function errorBody(err) {
    return { error: { code: err.code || "http_error", message: err.message, details: err.details || {} } };
  }

  // What each custom widget's model is bound to, and the action each of its events runs (as an app builder
  // would configure them on the widget: {{GetRequests.data}}, onResolve -> ResolveRequest.run(...)).
  const DATASOURCE = {
    inbox: {
      model: async () => ({ requests: await api.requests({ status: "pending", limit: 50 }), absence: await myAbsence(), bulk: null }),
      refreshOn: (type) => type.startsWith("request.") || type === "events.reset",
      events: {
        async resolve(ctx) {
          let result;
          try {
            result = await api.resolve(ctx.id, { resolution: ctx.resolution, comment: ctx.comment || "", payload: ctx.payload || {} });
          } catch (err) {
            result = errorBody(err);
          }
          return { result, requests: await api.requests({ status: "pending", limit: 50 }) };
        },
        async bulk_resolve(ctx) { // Bulk resolve requests, bound to the model's `bulk`
          let bulk;
          try {
            bulk = await api.call("POST", "/api/v1/requests/bulk-resolve",
              { ids: ctx.ids, resolution: ctx.resolution, comment: ctx.comment || "" });
          } catch (err) {
            bulk = errorBody(err);
          }
          return { bulk, requests: await api.requests({ status: "pending", limit: 50 }) };
        },
        async refresh() { return { requests: await api.requests({ status: "pending", limit: 50 }) }; },
        // Out of office (GetMyAbsence / SetAbsence / EndAbsence in an app)
        async set_absence(ctx) {
          let absenceResult;
          try {
            absenceResult = await api.call("PUT", "/api/v1/absences/me", ctx);
          } catch (err) {
            absenceResult = errorBody(err);
          }
          return { absence_result: absenceResult, absence: await myAbsence(), requests: await api.requests({ status: "pending", limit: 50 }) };
        },
        async end_absence() {
          await api.call("DELETE", "/api/v1/absences/me").catch(() => null);
          return { absence: await myAbsence() };
        },
      },
    },
  };

  function myAbsence() { return api.call("GET", "/api/v1/absences/me").catch((err) => errorBody(err)); }

  // The trigger form: bound to one query; after a submit the host follows the run it started.
  const triggered = { run: null };
  DATASOURCE.trigger = {
    model: async () => {
      const model = { query: (await api.queries()).queries.find((q) => q.name === triggerQuery()) };
      if (triggered.run) Object.assign(model, await runModel(triggered.run));
      return model;
    },
    refreshOn: (type, data) => Boolean(triggered.run) && data.run_id === triggered.run,
    events: {
      async submit(ctx) {
        try {
          const result = await api.trigger(ctx.query, ctx.input || {});
          triggered.run = result.run_id;
          return { result, ...(await runModel(result.run_id)) };
        } catch (err) {
          return { result: errorBody(err) };
        }
      },
      async refresh_run(ctx) { return runModel(ctx.run_id); },
    },
  };

  async function runModel(runId) {
    const [run, steps] = await Promise.all([api.run(runId), api.steps(runId).catch(() => ({ steps: [] }))]);
    return { run, steps };
  }

  // Run history: List runs with the panel's filters; Get run (and its steps) for the selected run.
  const historyState = { filters: {}, selected: null };
  DATASOURCE.history = {
    listsRuns: true,
    model: async () => {
      const model = { user: identity().user, runs: await api.runs({ ...historyState.filters, limit: 20 }) };
      if (historyState.selected) Object.assign(model, await runModel(historyState.selected));
      return model;
    },
    refreshOn: (type) => type.startsWith("run.") || type.startsWith("request.") || type === "events.reset",
    events: {
      async filter(ctx) {
        const { cursor, ...filters } = ctx;
        historyState.filters = filters;
        try {
          return { runs: await api.runs({ ...filters, cursor, limit: 20 }), result: null };
        } catch (err) {
          return { result: errorBody(err) };
        }
      },
      async select_run(ctx) {
        historyState.selected = ctx.run_id;
        return runModel(ctx.run_id);
      },
      async cancel_run(ctx) { return historyAction(() => api.cancel(ctx.run_id), ctx.run_id); },
      async retry_run(ctx) { return historyAction(() => api.retry(ctx.run_id), ctx.run_id); },
    },
  };

  async function historyAction(call, runId) {
    let result;
    try { result = await call(); } catch (err) { result = errorBody(err); }
    if (result.run_id && result.retry_of) historyState.selected = result.run_id;
    return { result, runs: await api.runs({ ...historyState.filters, limit: 20 }), ...(await runModel(historyState.selected || runId)) };
  }

  // The sample apps' pages (each sample folder's app.json, served at /apps.json): which panel goes where, and
  // the query a trigger form starts. The binding helper is for the app builder, on every page.
  const HELPER = { panel: "binding", kind: "iframe", title: "Query binding helper (for the app builder)", wide: true };
  const DEFAULT_APP = "expense-approval"; // the first sample a newcomer sees
  let apps = [];
  const appSelect = document.getElementById("host-app");

  async function loadApps() {
    apps = (await fetch("/apps.json").then((r) => r.json())).apps || [];
    WF.clear(appSelect, apps.map((a) => h("option", { value: a.id }, a.title)));
  }

  function currentApp() {
    return apps.find((a) => a.id === appSelect.value) || apps[0] || { widgets: [] };
  }

  function triggerQuery() {
    return (currentApp().widgets.find((w) => w.panel === "trigger") || {}).query || "";
  }

  function frame(widget, label) {
    const box = h("section", { class: `devhost-widget${widget.wide ? " devhost-wide" : ""}`, "data-widget": widget.panel },
      h("header", {}, h("strong", {}, widget.title), label));
    widgetsEl.append(box);
    return box;
  }

  function iframeWidget(widget, identity) {
    const params = new URLSearchParams({ ...identity, ...(widget.query ? { query: widget.query } : {}) });
    const iframe = h("iframe", { title: `${widget.title} (iframe widget)`, src: `/ui/${widget.panel}/#${params}` });
    frame(widget, "iframe widget · standalone").append(iframe);
  }

  async function customWidget(widget) {
    const box = frame(widget, "custom widget · bound");
    const [parts, hostScript, reset] = await Promise.all([
      fetch(`/ui/export/${widget.panel}.json`).then((r) => r.json()),
      fetch("/ui/devhost/widget-host.js").then((r) => r.text()),
      fetch("/ui/devhost/reset.css").then((r) => r.text()),
    ]);
    const iframe = h("iframe", { title: `${widget.title} (custom widget)`, sandbox: SANDBOX });
    iframe.srcdoc = `<html><head><style>${reset}</style></head><body>`
      + `<script type="text/javascript"></script><script type="module">${hostScript}\nmain();</script>`
      + `${parts.html}<script type="module">${parts.js}</script><style>${parts.css}</style></body></html>`;
    const source = DATASOURCE[widget.panel];
    const state = { model: {}, ready: false, iframe, source };
    const post = (message) => iframe.contentWindow && iframe.contentWindow.postMessage(message, "*");
    const setModel = (values) => {
      state.model = { ...state.model, ...values };
      if (state.ready) post({ type: "CUSTOM_WIDGET_MODEL_CHANGE", model: state.model });
    };
    let timer = null;
    let waiting = [];
    state.refresh = () => new Promise((resolve) => { // a burst of events re-runs the queries once
      waiting.push(resolve);
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const done = waiting;
        waiting = [];
        try { setModel(await source.model()); } catch (err) { setModel({ error: errorBody(err).error }); }
        done.forEach((fn) => fn());
      }, 100);
    });
    window.addEventListener("message", async (event) => {
      if (event.source !== iframe.contentWindow) return;
      const message = event.data || {};
      post({ type: "CUSTOM_WIDGET_MESSAGE_RECEIVED_ACK", key: message.key, success: true }); // every message
      if (message.type === "CUSTOM_WIDGET_READY") {
        state.ready = true;
        post({ type: "CUSTOM_WIDGET_READY_ACK", model: state.model, ui: { width: iframe.clientWidth, height: iframe.clientHeight },
          mode: "DEPLOYED", theme: THEME });
        return;
      }
      if (message.type === "CUSTOM_WIDGET_UPDATE_HEIGHT" && message.data && message.data.height) {
        iframe.style.height = `${message.data.height}px`; // the dev host's widgets are Auto Height
        return;
      }
      if (message.type === "CUSTOM_WIDGET_UPDATE_MODEL") state.model = { ...state.model, ...message.data };
      if (message.type === "CUSTOM_WIDGET_TRIGGER_EVENT") {
        const action = source.events[message.data.eventName];
        if (!action) { console.warn(`event ${message.data.eventName} is not configured on ${widget.panel}`); return; }
        const values = await action(message.data.contextObj || {});
        setModel(values);
        // as an app chains its queries: after an action, the other widgets' queries run again
        mounted.forEach((w) => { if (w !== state) w.refresh(); });
        if (values.result && values.result.run_id) followRun(values.result.run_id);
      }
    });
    box.append(iframe);
    mounted.push(state);
    await state.refresh();
  }

  // List runs is served by Temporal's visibility, which can lag a start: widgets that list runs ask again
  // until a run the host heard of shows.
  function followRun(runId) {
    for (const w of mounted.filter((m) => m.source.listsRuns)) {
      const listed = () => ((w.model.runs || {}).runs || []).some((r) => r.id === runId);
      [1000, 2500, 5000, 10000, 20000].forEach((ms) => setTimeout(() => { if (!listed()) w.refresh(); }, ms));
    }
  }

  function identity() {
    return { key: field("host-key").value.trim(), user: field("host-user").value.trim(), groups: field("host-groups").value.trim() };
  }

  async function mount() {
    if (stream) stream.stop();
    mounted.splice(0);
    WF.clear(widgetsEl);
    triggered.run = null;
    Object.assign(historyState, { filters: {}, selected: null });
    const who = identity();
    if (!who.key || !who.user) {
      WF.clear(statusEl, WF.empty("🔑", "Who is using the app?", "Enter the app key `up` printed and a user's email."));
      return;
    }
    const app = currentApp();
    WF.clear(statusEl, app.description ? h("p", { class: "wf-muted" }, app.description) : null);
    api = new WF.Api(who);
    stream = WF.live(api, (type, data) => mounted.forEach((w) => {
      if (!w.source.refreshOn(type, data)) return;
      w.refresh();
      if (type === "run.updated") followRun(data.run_id);
    }),
      (s) => {
        liveEl.dataset.state = s;
        liveEl.textContent = s === "live" ? "Datasource live" : s === "retrying" ? "Reconnecting…" : "";
        if (s === "live") mounted.forEach((w) => w.refresh()); // what changed before the stream (re)opened
      });
    for (const widget of [...app.widgets, HELPER]) {
      if (widget.kind === "iframe") iframeWidget(widget, who);
      else await customWidget(widget);
    }
  }

  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  field("host-key").value = params.get("key") || "";
  field("host-user").value = params.get("user") || "";
  field("host-groups").value = params.get("groups") || "";
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    history.replaceState(null, "", `#${new URLSearchParams({ ...identity(), app: appSelect.value })}`);
    mount();
  });
  appSelect.addEventListener("change", () => form.requestSubmit());
  loadApps().then(() => {
    const wanted = params.get("app") || DEFAULT_APP;
    if (apps.some((a) => a.id === wanted)) appSelect.value = wanted;
    mount();
  });
})();
