// Run history and run detail: filters, cursor paging, status chips; a run's input, output, error, step
// timeline, requests and audit trail; cancel and retry with confirmation. Bound: model.runs/run/steps in,
// select_run / filter / cancel_run / retry_run out.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const panel = document.getElementById("history-root") || document.querySelector('[data-panel="history"]');
  const body = panel.querySelector(".wf-body");
  const live = panel.querySelector(".wf-live");
  const announce = (text) => { panel.querySelector(".wf-announce").textContent = text; };
  const STATUSES = ["running", "waiting", "completed", "failed", "cancelled", "terminated", "timed_out"];
  const OPEN = ["running", "waiting"];
  let api = null;
  let config = {};
  let runs = [];
  let cursor = null;
  let selected = null;
  let filters = {};
  let lastResult = "null";
  // Filters, live events and catch-ups load the list again, a selection or event the detail: answers can come
  // back out of order, and only the latest load's answer (or error) is shown.
  const listLoads = WF.latest();
  const detailLoads = WF.latest();
  const listEl = h("div", { class: "wf-run-list" });
  const detailEl = h("section", { class: "wf-run-detail", "aria-label": "Run detail" });

  function filterBar(queryNames) {
    const select = (id, label, options) => h("div", { class: "wf-field" }, h("label", { for: id }, label),
      h("select", { id, name: id }, h("option", { value: "" }, "Any"), options.map((o) => h("option", { value: o }, o.replace("_", " ")))));
    const input = (id, label, type, placeholder) => h("div", { class: "wf-field" }, h("label", { for: id }, label),
      h("input", { id, name: id, type, placeholder }));
    return h("form", { class: "wf-toolbar", "aria-label": "Filter runs", onsubmit: (e) => { e.preventDefault(); applyFilters(e.target); } },
      select("status", "Status", STATUSES), select("query", "Query", queryNames),
      input("started_by", "Started by", "email", config.user || "someone@example.com"),
      input("since", "From", "datetime-local"), input("until", "To", "datetime-local"),
      h("button", { class: "wf-btn", type: "submit" }, "Apply filters"));
  }

  function applyFilters(form) {
    const iso = (v) => (v ? new Date(v).toISOString() : "");
    const data = new FormData(form);
    filters = { status: data.get("status"), query: data.get("query"), started_by: data.get("started_by"),
      since: iso(data.get("since")), until: iso(data.get("until")) };
    loadList(true);
  }

  function row(run) {
    const open = () => select(run.id);
    return h("tr", { "data-run": run.id, tabindex: 0, "aria-selected": String(run.id === selected), onclick: open,
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } } },
    h("td", {}, WF.chip(run.status)),
    h("td", {}, h("div", { class: "wf-strong" }, run.query || run.workflow),
      h("code", { class: "wf-small", title: run.id }, run.id.length > 34 ? `${run.id.slice(0, 32)}…` : run.id)),
    h("td", { class: "wf-nowrap" }, h("div", {}, WF.when(run.started_at)),
      h("div", { class: "wf-small" }, run.ended_at ? `took ${WF.duration(run.started_at, run.ended_at)}` : "open")),
    h("td", { class: "wf-small" }, run.started_by || "—"));
  }

  function renderList() {
    if (!runs.length) {
      WF.clear(listEl, WF.host.mode === "bound"
        ? WF.empty("☰", "No runs listed", "None match the filters yet; Apply filters looks again.")
        : WF.empty("☰", "No runs yet", "Runs you start appear here, live."));
      return;
    }
    const more = cursor ? h("button", { class: "wf-btn", type: "button", onclick: () => loadList(false) }, "Load more") : null;
    WF.clear(listEl, h("table", { class: "wf-table" }, h("caption", { class: "wf-sr" }, "Runs, newest first"),
      h("thead", {}, h("tr", {}, ["Status", "Run", "Started", "By"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runs.map(row))), more ? h("div", { class: "wf-actions", style: "margin-top:10px" }, more) : null);
  }

  async function loadList(reset) {
    if (WF.host.mode === "bound") {
      // Every filter, always as text ("" = any): the app's List runs sends each parameter it declares.
      const all = { status: "", query: "", started_by: "", since: "", until: "", ...filters };
      WF.host.trigger("filter", { ...all, cursor: reset ? "" : cursor || "" });
      return;
    }
    if (reset && !runs.length) WF.clear(listEl, WF.skeleton(3));
    const latest = listLoads();
    try {
      const page = await api.runs({ ...filters, limit: 20, cursor: reset ? "" : cursor });
      if (!latest()) return;
      runs = reset ? page.runs : runs.concat(page.runs);
      cursor = page.next_cursor;
      renderList();
    } catch (err) {
      if (latest()) WF.clear(listEl, WF.alert("error", `Could not load runs: ${WF.refusal(err)}`));
    }
  }

  function select(id) {
    selected = id;
    listEl.querySelectorAll("tr[data-run]").forEach((tr) => tr.setAttribute("aria-selected", String(tr.dataset.run === id)));
    if (WF.host.mode === "bound") { WF.host.trigger("select_run", { run_id: id }); return; }
    WF.clear(detailEl, WF.skeleton(2));
    loadDetail();
  }

  async function loadDetail() {
    const id = selected;
    if (!id || WF.host.mode === "bound") return;
    const latest = detailLoads();
    try {
      const [run, steps] = await Promise.all([api.run(id), api.steps(id).then((s) => s.steps).catch(() => [])]);
      if (id === selected && latest()) renderDetail(run, steps);
    } catch (err) {
      if (latest()) WF.clear(detailEl, WF.alert("error", `Could not load the run: ${WF.refusal(err)}`));
    }
  }

  async function act(run, action) {
    const verb = action === "cancel" ? "Cancel" : "Retry";
    const text = action === "cancel" ? "The run stops; pending requests are withdrawn." : "A new run starts with the same input.";
    if (!(await WF.confirm(panel, `${verb} this run?`, text, `${verb} run`))) return;
    if (WF.host.mode === "bound") { WF.host.trigger(`${action}_run`, { run_id: run.id }); return; }
    try {
      const answer = await (action === "cancel" ? api.cancel(run.id) : api.retry(run.id));
      announce(action === "cancel" ? "Run cancelled" : "Retry started");
      loadList(true);
      if (action === "retry" && answer.run_id) select(answer.run_id); else loadDetail();
    } catch (err) {
      WF.clear(detailEl.querySelector(".wf-detail-alert") || detailEl, WF.alert("error", WF.refusal(err)));
    }
  }

  function requestsBlock(requests) {
    if (!requests.length) return null;
    return h("div", {}, h("h3", {}, "Requests"), requests.map((r) => h("div", { class: "wf-card" },
      h("div", { class: "wf-card-head" }, h("strong", {}, r.name), WF.chip(r.status)),
      h("div", { class: "wf-meta" }, h("span", {}, `To ${[...r.users, ...r.groups.map((g) => `group ${g}`)].join(", ") || "—"}`),
        h("span", {}, "Opened ", WF.when(r.created_at)), r.resolution ? h("span", {}, `Resolution: ${r.resolution}`) : null,
        r.due_at && r.status === "pending" ? h("span", {}, "Due ", WF.when(r.due_at)) : null,
        r.sla ? h("span", { class: "wf-sla", "data-sla": r.sla.policy }, "SLA ", h("strong", {}, r.sla.policy),
          r.sla.expiry_resolution ? ` (${r.sla.at_expiry.replace("_", "-")} as ${r.sla.expiry_resolution} when due)` : "") : null),
      (r.decisions || []).length ? h("ul", { class: "wf-small wf-decisions", style: "margin:4px 0 0;padding-left:18px" }, r.decisions.map((d) => h("li", {},
        `${d.resolution} by ${d.actor}`, d.acting_for ? h("strong", {}, ` for ${d.acting_for}`) : null, ` · ${WF.clock(d.at)}`))) : null)));
  }

  // How the actor was identified, where the audit recorded it (a workflow's own entries have none).
  function how(entry) {
    const d = entry.details || {};
    const said = d.identified_by || d.identity_source || d.via;
    if (said) return String(said);
    return entry.action === "decided" ? "not recorded" : "—";
  }

  function auditBlock(audit) {
    if (!audit || !audit.length) return null;
    return h("div", {}, h("h3", {}, "Audit trail"), h("table", { class: "wf-table" },
      h("thead", {}, h("tr", {}, ["When", "Who", "What", "How identified"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, audit.map((a) => h("tr", {}, h("td", { title: a.at }, WF.clock(a.at)), h("td", {}, a.actor, a.details && a.details.acting_for ? h("span", { class: "wf-muted" }, ` for ${a.details.acting_for}`) : null),
        h("td", {}, `${a.action}${a.details && a.details.resolution ? `: ${a.details.resolution}` : ""}${a.comment ? ` — “${a.comment}”` : ""}`),
        h("td", { class: "wf-small" }, how(a)))))));
  }

  // How an ended run ended: a cancel or termination is a person's act, not a failure of the run.
  function endedBy(run) {
    if (run.status === "cancelled" || run.status === "terminated") {
      const entry = (run.audit || []).slice().reverse().find((a) => /cancel|terminat/.test(a.action || ""));
      const who = entry && entry.actor && entry.actor !== "workflow" ? ` by ${entry.actor}` : "";
      return WF.alert("info", `${run.status === "cancelled" ? "Cancelled" : "Stopped"}${who}${entry && entry.at ? ` at ${WF.clock(entry.at)}` : ""}.`);
    }
    if (!run.error) return null;
    return WF.alert("error", `${run.error.step ? `Step “${run.error.step}” failed` : "Failed"}: ${run.error.type}: ${run.error.message}`);
  }

  function renderDetail(run, steps) {
    const mine = !config.user || run.started_by === config.user;
    const why = mine ? "" : "Only the person who started the run (or an admin) may do this";
    const cancel = h("button", { class: "wf-btn wf-btn-danger", type: "button", disabled: !mine || !OPEN.includes(run.status),
      title: why || (OPEN.includes(run.status) ? "" : "The run has ended"), onclick: () => act(run, "cancel") }, "Cancel run");
    const retry = h("button", { class: "wf-btn", type: "button", disabled: !mine || OPEN.includes(run.status),
      title: why || (OPEN.includes(run.status) ? "The run has not ended" : ""), onclick: () => act(run, "retry") }, "Retry");
    WF.clear(detailEl, h("div", { class: "wf-card", "data-detail": run.id },
      h("div", { class: "wf-card-head" }, h("div", {}, h("h2", {}, run.query || run.workflow), h("code", { class: "wf-muted" }, run.id)),
        WF.chip(run.status)),
      h("div", { class: "wf-meta" }, h("span", {}, `By ${run.started_by || "—"}`), h("span", {}, "Started ", WF.when(run.started_at)),
        run.ended_at ? h("span", {}, "Ended ", WF.when(run.ended_at)) : null, run.retry_of ? h("span", {}, `Retry of ${run.retry_of}`) : null),
      h("div", { class: "wf-actions" }, cancel, retry), h("div", { class: "wf-detail-alert" }),
      endedBy(run),
      h("h3", {}, "Input"), WF.json(run.input),
      run.status === "completed" ? [h("h3", {}, "Output"), WF.json(run.output)] : null,
      steps.length ? [h("h3", {}, "Steps"), h("ol", { class: "wf-timeline", "aria-label": "Step timeline" }, steps.map((s) => h("li", { "data-status": s.status },
        h("div", { class: "wf-step-name" }, s.name, " ", h("span", { class: "wf-muted" }, `· ${s.kind}`)),
        h("div", { class: "wf-step-meta" }, `${s.status} · ${WF.clock(s.started_at)}${s.ended_at ? ` · ${WF.duration(s.started_at, s.ended_at)}` : ""}${s.attempts > 1 ? ` · ${s.attempts} attempts` : ""}`),
        s.error ? h("div", { class: "wf-step-error" }, s.error) : null)))] : null,
      requestsBlock(run.requests || []), auditBlock(run.audit)));
  }

  // Run history is served by Temporal's visibility, which can lag a second or more behind a start: a run
  // that an event names but the list lacks is looked for again a few times, as is the first page.
  let catchUps = [];
  function catchUp(missing) {
    catchUps.forEach(clearTimeout);
    catchUps = [1500, 4000, 10000, 20000].map((ms) => setTimeout(() => {
      if (!missing || !runs.some((r) => r.id === missing)) loadList(true);
    }, ms));
  }

  let pending = null;
  function onEvent(type, data) {
    if (type === "events.reset") { loadList(true); loadDetail(); return; }
    clearTimeout(pending); // a burst of events (a decision, then the run) refreshes once
    pending = setTimeout(async () => {
      await loadList(true);
      if (type === "run.updated" && !runs.some((r) => r.id === data.run_id)) catchUp(data.run_id);
      if (data.run_id === selected) loadDetail();
    }, 150);
  }

  // Bound: the asking repeats on a timer, not on model changes (an unchanged answer brings no model change).
  let polling = null;
  let listPolling = null;
  let shownOpen = false;
  let listOpen = false;
  function pollShown() {
    polling = setTimeout(() => {
      polling = null;
      if (!shownOpen || !selected) return;
      WF.host.trigger("select_run", { run_id: selected });
      pollShown();
    }, 2500);
  }
  function pollList() {
    listPolling = setTimeout(() => {
      listPolling = null;
      if (!listOpen) return;
      loadList(true);
      pollList();
    }, 4000);
  }
  let queryNames = [];
  function boundModel(model) {
    config.user = typeof model.user === "string" ? model.user : "";
    const names = model.queries && Array.isArray(model.queries.queries) ? model.queries.queries.map((q) => q.name) : [];
    if (names.join() !== queryNames.join()) {
      queryNames = names;
      const old = body.querySelector("form.wf-toolbar");
      if (old) old.replaceWith(filterBar(names));
    }
    const page = model.runs;
    if (page === undefined || page === null) {
      WF.clear(listEl, WF.skeleton(3)); // List runs has not answered yet
    } else {
      runs = Array.isArray(page) ? page : page.runs || [];
      cursor = page.next_cursor || null;
      renderList();
      // Listed runs that are still open are asked for again (with the same filters) until they end.
      listOpen = runs.some((r) => OPEN.includes(r.status));
      if (listOpen && !listPolling) pollList();
    }
    if (model.run && model.run.id && (!selected || model.run.id === selected || model.run.retry_of === selected)) {
      selected = model.run.id; // the host may move the selection (a retry opens the new run)
      listEl.querySelectorAll("tr[data-run]").forEach((tr) => tr.setAttribute("aria-selected", String(tr.dataset.run === selected)));
      renderDetail(model.run, (model.steps && model.steps.steps) || []);
      // An open run is asked for again while it is shown (a cancel takes effect a moment later).
      shownOpen = OPEN.includes(model.run.status);
      if (shownOpen && !polling) pollShown();
    }
    const result = JSON.stringify(model.result ?? null);
    if (model.result && model.result.error && result !== lastResult) {
      const spot = detailEl.querySelector(".wf-detail-alert") || listEl;
      WF.clear(spot, WF.alert("error", WF.refusal(new WF.ApiError(0, model.result))));
    }
    lastResult = result;
  }

  WF.host.start(panel, () => {
    config = WF.host.mode === "bound" ? {} : WF.host.config();
    const layout = (names) => WF.clear(body, filterBar(names), h("div", { class: "wf-split" }, listEl, detailEl));
    WF.clear(detailEl, WF.empty("→", "Pick a run", "Its input, output, steps and decisions show here."));
    if (WF.host.mode === "bound") {
      live.textContent = "Bound to the app";
      const sub = panel.querySelector(".wf-sub");
      if (sub) sub.textContent = "Every run you started";
      layout([]);
      WF.host.onModel(boundModel);
      return;
    }
    if (!config.key) {
      WF.clear(body, WF.empty("🔑", "Not connected", "Open this page with #key=<app key>&user=<email>."));
      return;
    }
    api = new WF.Api(config);
    layout([]);
    WF.clear(listEl, WF.skeleton(3));
    api.queries().then((q) => {
      const names = q.queries.map((x) => x.name);
      const old = body.querySelector("form.wf-toolbar");
      old.replaceWith(filterBar(names));
    }).catch(() => {});
    loadList(true);
    catchUp(null);
    WF.live(api, onEvent, (state) => {
        live.dataset.state = state;
        live.textContent = state === "live" ? "Live" : state === "retrying" ? "Reconnecting…" : "";
        if (state === "live") { loadList(true); loadDetail(); } // what changed before the stream (re)opened
      });
  });
})(window);
