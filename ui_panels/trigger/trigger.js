// Trigger form: a form from a query's input JSON Schema, checked like the server checks it, the server's
// 422 field errors on the fields, then the run's progress live. Bound: model.query in, "submit" out.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const panel = document.getElementById("trigger-root") || document.querySelector('[data-panel="trigger"]');
  const body = panel.querySelector(".wf-body");
  const live = panel.querySelector(".wf-live");
  const announce = (text) => { panel.querySelector(".wf-announce").textContent = text; };
  const ENDED = ["completed", "failed", "cancelled", "terminated", "timed_out"];
  let api = null;
  let queries = [];
  let current = null; // {query, form, el, alert, submit, progress}
  let watching = null; // run id
  let lastResult = "null";
  let submitted = false; // bound: this panel asked for a run and waits for its answer
  let keyed = null; // bound: {attempt, key}, the Idempotency-Key of the values last submitted
  let polling = null;
  const refreshes = WF.latest(); // answers can come back out of order: only the latest refresh's is shown

  function newKey() {
    const bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    return `wf-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  function picker(selected) {
    if (queries.length < 2) return null;
    const select = h("select", { id: "wf-trigger-query", onchange: (e) => show(queries.find((q) => q.name === e.target.value)) },
      queries.map((q) => h("option", { value: q.name, selected: q.name === selected }, q.label || q.name)));
    return h("div", { class: "wf-field", style: "max-width:360px" }, h("label", { for: select.id }, "Workflow"), select);
  }

  function show(query) {
    if (!query) {
      WF.clear(body, WF.empty("⚙", "No workflow to start", "The workspace offers no query you can trigger."));
      return;
    }
    const form = WF.schemaForm(query.input_schema || {});
    const alert = h("div", { class: "wf-form-alert" });
    const submit = h("button", { class: "wf-btn wf-btn-primary", type: "submit" }, "Submit");
    const progress = h("section", { class: "wf-progress-area", "aria-label": "Run progress" });
    const el = h("form", { class: "wf-card", novalidate: true, "aria-label": query.label || query.name, onsubmit: onSubmit },
      h("h2", {}, query.label || query.name),
      query.description ? h("p", { class: "wf-muted" }, query.description) : null,
      form.el, h("div", { class: "wf-actions" }, submit), alert);
    current = { query, form, el, alert, submit, progress };
    WF.clear(body, picker(query.name), el, progress);
  }

  function setBusy(flag) {
    current.submit.disabled = flag;
    current.submit.textContent = flag ? "Submitting…" : "Submit";
  }

  async function onSubmit(event) {
    event.preventDefault();
    const { values, errors } = current.form.read();
    WF.clear(current.alert);
    if (Object.keys(errors).length) {
      current.form.showErrors(errors);
      current.form.focusFirstError();
      announce("Some fields need attention");
      return;
    }
    current.form.showErrors({});
    setBusy(true);
    if (WF.host.mode === "bound") {
      lastResult = JSON.stringify(WF.host.model.result ?? null);
      // One key per attempt: a resubmit of the same values after a lost answer gets the same run back.
      const attempt = JSON.stringify(values);
      if (!keyed || keyed.attempt !== attempt) keyed = { attempt, key: newKey() };
      submitted = true;
      WF.host.trigger("submit", { query: current.query.name, input: values, idempotency_key: keyed.key });
      return;
    }
    try {
      started(await api.trigger(current.query.name, values));
    } catch (err) {
      failed(err);
    }
  }

  function failed(err) {
    setBusy(false);
    if (err.status === 422 && err.details && err.details.fields) {
      const unmatched = current.form.showErrors(err.fieldErrors("input."));
      current.form.focusFirstError();
      if (unmatched.length) WF.clear(current.alert, WF.alert("error", unmatched.join("; ")));
      announce("The server found fields that need attention");
      return;
    }
    WF.clear(current.alert, WF.alert("error", WF.refusal(err)));
  }

  function started(answer) {
    setBusy(false);
    watching = answer.run_id;
    WF.clear(current.alert, WF.alert("success", answer.existing ? "This run already exists; its progress is below" : "Submitted"));
    announce("Submitted; the run's progress follows");
    renderRun({ id: answer.run_id, status: answer.status, requests: [] }, []);
    if (WF.host.mode === "bound") poll(); else refresh();
  }

  function renderRun(run, steps) {
    const waitingOn = (run.requests || []).filter((r) => r.status === "pending");
    WF.clear(current.progress, h("div", { class: "wf-card", "data-run": run.id },
      h("div", { class: "wf-card-head" }, h("h2", {}, "Your run"), WF.chip(run.status)),
      h("div", { class: "wf-meta" }, h("code", {}, run.id), run.started_at ? h("span", {}, "Started ", WF.when(run.started_at)) : null),
      waitingOn.length ? WF.alert("info", `Waiting for ${waitingOn.map((r) => `${r.name} (${[...r.users, ...r.groups.map((g) => `group ${g}`)].join(", ")})`).join("; ")}`) : null,
      run.error ? WF.alert("error", `${run.error.step ? `Step “${run.error.step}” failed: ` : ""}${run.error.message}`) : null,
      steps.length ? h("ol", { class: "wf-timeline", "aria-label": "Steps" }, steps.map((s) => h("li", { "data-status": s.status },
        h("div", { class: "wf-step-name" }, s.name), h("div", { class: "wf-step-meta" }, `${s.kind} · ${s.status}`)))) : null,
      run.status === "completed" ? h("div", {}, h("h3", {}, "Output"), WF.json(run.output)) : null));
  }

  async function refresh() {
    if (!watching || WF.host.mode === "bound") return;
    const id = watching;
    const latest = refreshes();
    try {
      const [run, steps] = await Promise.all([api.run(id), api.steps(id).then((s) => s.steps).catch(() => [])]);
      if (id === watching && latest()) renderRun(run, steps);
      if (ENDED.includes(run.status)) announce(`The run is ${run.status}`);
    } catch (err) {
      if (err.status !== 404 && latest()) WF.clear(current.progress, WF.alert("error", `Could not read the run: ${WF.refusal(err)}`));
    }
  }

  // Bound: the app's Get run answers in model.run; while the run is open the panel asks for it again every 2 s
  // (event refresh_run), so its progress shows without the app polling. The asking does not wait for a model
  // change: an answer equal to the last one changes nothing, so no model change comes.
  function poll() {
    clearTimeout(polling);
    polling = setTimeout(() => {
      if (!watching) return;
      WF.host.trigger("refresh_run", { run_id: watching });
      poll();
    }, 2000);
  }

  function boundModel(model) {
    const query = model.query && model.query.queries ? model.query.queries[0] : model.query;
    if (query && typeof query === "object" && (!current || current.query.name !== query.name)) show(query);
    if (!current) {
      if (!query) WF.clear(body, WF.empty("⚙", "No workflow yet", "The app's List queries query has not answered yet."));
      return;
    }
    const result = JSON.stringify(model.result ?? null);
    if (submitted && result !== lastResult && model.result && typeof model.result === "object") {
      submitted = false;
      lastResult = result;
      if (model.result.error) failed(new WF.ApiError(statusOf(model.result.error.code), model.result));
      else { keyed = null; started(model.result); }
    }
    const run = model.run;
    if (watching && run && run.id === watching) {
      renderRun(run, (model.steps && model.steps.steps) || []);
      if (ENDED.includes(run.status)) { clearTimeout(polling); announce(`The run is ${run.status}`); }
    }
  }

  function statusOf(code) {
    return { validation_failed: 422, conflict: 409, forbidden: 403, not_found: 404 }[code] || 400;
  }

  WF.host.start(panel, () => {
    WF.clear(body, WF.skeleton(1));
    if (WF.host.mode === "bound") {
      live.textContent = "Bound to the app";
      WF.host.onModel(boundModel);
      return;
    }
    const config = WF.host.config();
    if (!config.key) {
      WF.clear(body, WF.empty("🔑", "Not connected", "Open this page with #key=<app key>&user=<email>&query=<query name>."));
      return;
    }
    api = new WF.Api(config);
    api.queries().then((answer) => {
      queries = answer.queries;
      show(queries.find((q) => q.name === config.query) || queries[0]);
    }).catch((err) => WF.clear(body, WF.alert("error", `Could not load the workflows: ${WF.refusal(err)}`)));
    WF.live(api, (type, data) => { if (watching && (data.run_id === watching || type === "events.reset")) refresh(); },
      (state) => {
        live.dataset.state = state;
        live.textContent = state === "live" ? "Live" : state === "retrying" ? "Reconnecting…" : "";
        if (state === "live") { refresh(); } // what changed before the stream (re)opened
      });
  });
})(window);
