// Approvals inbox: the user's pending requests with one button per allowed resolution, a comment, the
// request's form fields, and clear feedback for each refusal. Bound: model.requests in, "resolve" out.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const panel = document.getElementById("inbox-root") || document.querySelector('[data-panel="inbox"]');
  const body = panel.querySelector(".wf-body");
  const live = panel.querySelector(".wf-live");
  const announce = (text) => { panel.querySelector(".wf-announce").textContent = text; };
  let cards = new Map(); // request id -> {el, feedback, form, buttons, comment, version}
  let api = null;
  let awaiting = null; // bound mode: {id, resolution, resultAtSend}
  const REFRESH_MS = 10000;
  const loads = WF.latest(); // live events, a reconnect, an absence change load again: only the latest load's answer shows
  // Bulk decisions (bulk.js): checkboxes, select all, one resolution for the selected requests, a plain report.
  const bulk = WF.inboxBulk ? WF.inboxBulk.attach({ panel, body, cards: () => cards, settled, refused, api: () => api }) : null;

  function approvals(request) {
    const approving = request.resolutions[0];
    return (request.decisions || []).filter((d) => d.resolution === approving).length;
  }

  function feedback(card, kind, text) {
    WF.clear(card.feedback, text ? WF.alert(kind, text) : null);
    if (text) announce(text);
  }

  function busy(card, flag) {
    card.buttons.forEach((b) => { b.disabled = flag; });
    card.comment.disabled = flag;
    card.form.disable(flag);
    card.el.setAttribute("aria-busy", String(flag));
  }

  async function decide(request, resolution) {
    const card = cards.get(request.id);
    if (!card) return;  // the card was re-rendered away (the request was decided meanwhile)
    const { values, errors } = card.form.read();
    if (Object.keys(errors).length) {
      card.form.showErrors(errors);
      card.form.focusFirstError();
      feedback(card, "error", "Fill in the form fields marked below first");
      return;
    }
    card.form.showErrors({});
    const decision = { resolution, comment: card.comment.value.trim(), payload: values };
    busy(card, true);
    feedback(card, "info", `Sending “${resolution}”…`);
    if (WF.host.mode === "bound") {
      awaiting = { id: request.id, resolution, resultAtSend: JSON.stringify(WF.host.model.result ?? null) };
      WF.host.trigger("resolve", { id: request.id, ...decision });
      return;
    }
    try {
      const done = await api.resolve(request.id, decision);
      settled(request.id, resolution, done);
    } catch (err) {
      refused(request.id, err);
    }
  }

  function settled(id, resolution, doc) {
    const card = cards.get(id);
    if (!card) return;
    const still = doc && doc.status === "pending";
    if (doc && doc.id === id) showProgress(card, doc);
    const outcome = doc && doc.resolution ? doc.resolution : resolution;
    const mine = doc && doc.decisions && doc.decisions[doc.decisions.length - 1];
    const forWhom = mine && mine.acting_for ? ` for ${mine.acting_for}` : "";  // a delegate's decision (out of office)
    feedback(card, "success", still
      ? `“${resolution}” recorded${forWhom}: ${approvals(doc)} of ${doc.required_approvals} approvals so far`
      : `Done: “${outcome}” recorded${forWhom}; the request is decided.`);
    card.buttons.forEach((b) => { b.disabled = true; });
    card.el.dataset.state = still ? "pending" : "decided";
    if (!still) card.el.dataset.done = "true";
  }

  // The approvals bar and count of a card, from the request as last known.
  function showProgress(card, request) {
    const done = approvals(request);
    const needed = request.required_approvals || 1;
    card.bar.style.width = `${Math.min(100, (100 * done) / needed)}%`;
    card.count.textContent = request.status === "pending" ? `${done} of ${needed}` : `${request.resolution || "Decided"}`;
  }

  function refused(id, err) {
    const card = cards.get(id);
    if (!card) return;
    busy(card, err.status === 409 || err.status === 404);
    if (err.status === 422) {
      const unmatched = card.form.showErrors(err.fieldErrors ? err.fieldErrors("payload.") : {});
      card.form.focusFirstError();
      feedback(card, "error", unmatched.length ? `${err.message}` : "Some fields need attention");
    } else if (err.status === 403) {
      feedback(card, "error", `Not allowed: ${err.message}`);
    } else if (err.status === 404) {
      feedback(card, "error", "This request is no longer there (it was withdrawn or you no longer may see it)");
    } else {
      feedback(card, "error", WF.refusal(err));
    }
  }

  function card(request) {
    const titleId = `req-${request.id.replace(/[^\w-]/g, "_")}`;
    const bar = h("span", {});
    const count = h("span", { class: "wf-progress-count" });
    const formSchema = WF.requestFormSchema(request.form);
    const form = WF.schemaForm(formSchema);
    const comment = h("textarea", { id: `${titleId}-comment`, rows: 2, maxlength: 5000, placeholder: "Add a note for the requester" });
    const rejecting = new Set(request.rejecting_resolutions || request.resolutions.slice(1));
    const buttons = request.resolutions.map((resolution, i) => h("button", {
      type: "button", class: `wf-btn ${i === 0 ? "wf-btn-primary" : rejecting.has(resolution) ? "wf-btn-danger" : ""}`,
      "aria-describedby": titleId, onclick: () => decide(request, resolution),
    }, resolution));
    const fb = h("div", { class: "wf-feedback" });
    const el = h("article", { class: "wf-card", "aria-labelledby": titleId, "data-request": request.id },
      h("div", { class: "wf-card-head" },
        h("div", {}, h("h2", { id: titleId }, request.name),
          h("div", { class: "wf-meta" },
            h("span", {}, "From ", h("strong", {}, request.requester || "—")),
            h("span", {}, "Opened ", WF.when(request.created_at)),
            WF.absence ? WF.absence.badge(request) : null,
            request.due_at ? h("span", {}, "Due ", WF.when(request.due_at)) : null,
            request.sla ? h("span", { class: "wf-sla", "data-sla": request.sla.policy,
              title: `SLA policy ${request.sla.policy}: business time on ${request.sla.calendar || "a 24-hour clock"} (${request.sla.time_zone})` },
              "SLA ", h("strong", {}, request.sla.policy)) : null)),
        h("span", { class: "wf-progress", title: "Approvals needed" },
          h("span", { class: "wf-progress-bar", "aria-hidden": "true" }, bar), count)),
      request.message ? h("p", {}, request.message) : null,
      WF.kvTable(request.metadata, "Details"),
      form.isEmpty ? null : h("div", {}, h("h3", {}, "Your answer"), form.el),
      h("div", { class: "wf-field" }, h("label", { for: comment.id }, "Comment ", h("span", { class: "wf-muted" }, "(optional)")), comment),
      h("div", { class: "wf-actions", role: "group", "aria-label": `Decide: ${request.name}` }, buttons),
      fb);
    const made = { el, feedback: fb, form, buttons, comment, bar, count, version: request.version };
    showProgress(made, request);
    if (bulk) bulk.decorate(made, request);
    return made;
  }

  function settle(c, id) {
    if (c.el.dataset.settled) return;
    c.el.dataset.settled = "true";
    c.buttons.forEach((b) => { b.disabled = true; });
    c.comment.disabled = true;
    c.form.disable(true);
    const dismiss = h("button", { type: "button", class: "wf-btn wf-btn-sm", "aria-describedby": c.el.getAttribute("aria-labelledby"),
      onclick: () => { c.dismissed = true; cards.delete(id); c.el.remove(); if (!cards.size) render([]); } }, "Dismiss");
    c.el.append(h("div", { class: "wf-actions" }, dismiss));
  }

  function render(requests) {
    draw(requests);
    if (bulk) bulk.shown(requests);
  }

  function draw(requests) {
    // Cards are kept while their request is unchanged (or shows feedback), so a live refresh never
    // throws away a comment being typed; a decided card stays with its message until the next load.
    const next = new Map();
    const list = [];
    for (const r of requests) {
      const old = cards.get(r.id);
      const c = old && (old.version === r.version || old.feedback.childElementCount) ? old : card(r);
      next.set(r.id, c);
      list.push(c.el);
    }
    for (const [id, c] of cards) {
      // Decided here or refused (e.g. someone else was first): the card stays, with its message, until dismissed.
      if (!next.has(id) && c.feedback.childElementCount && !c.dismissed) {
        settle(c, id);
        next.set(id, c);
        list.unshift(c.el);
      }
    }
    cards = next;
    if (!list.length) {
      WF.clear(body, WF.empty("✓", "You are all caught up", "No request is waiting for your decision."));
      return;
    }
    const shown = [...body.children];
    if (shown.length === list.length && shown.every((el, i) => el === list[i])) return; // nothing moved: keep focus
    const focused = document.activeElement;
    WF.clear(body, list);
    if (focused && focused !== document.body && focused.isConnected) focused.focus(); // a live refresh keeps the user's place
  }

  function showError(err) {
    WF.clear(body, WF.alert("error", `Could not load your requests: ${WF.refusal(err)}`),
      h("button", { class: "wf-btn", type: "button", onclick: load }, "Try again"));
  }

  async function load() {
    const latest = loads();
    try {
      const page = await api.requests({ status: "pending", limit: 50 });
      if (latest()) render(page.requests);
    } catch (err) {
      if (latest()) showError(err);
    }
  }

  function boundModel(model) {
    const data = model.requests;
    const requests = Array.isArray(data) ? data : (data && data.requests) || null;
    if (awaiting) {
      const result = model.result ?? null;
      const gone = requests && !requests.some((r) => r.id === awaiting.id);
      if (JSON.stringify(result) !== awaiting.resultAtSend || gone) {
        const { id, resolution } = awaiting;
        awaiting = null;
        if (result && result.error) {
          refused(id, new WF.ApiError(statusOf(result.error.code), result));
        } else settled(id, resolution, result && result.id === id ? result : null);
      }
    }
    if (bulk) bulk.model(model);
    if (requests) render(requests);
    else if (model.error) showError(new WF.ApiError(0, model.error));
  }

  function statusOf(code) {
    return { conflict: 409, forbidden: 403, not_found: 404, validation_failed: 422 }[code] || 400;
  }

  WF.host.start(panel, () => {
    WF.clear(body, WF.skeleton(2));
    if (WF.host.mode === "bound") {
      live.textContent = "Bound to the app";
      const ooo = WF.absence ? WF.absence.mount(panel, {}) : null;  // shown once the app binds model.absence
      WF.host.onModel((model) => { if (ooo) ooo.model(model); boundModel(model); });
      // No event stream reaches a custom widget: the app's Get requests is asked for again every 10 s (event
      // refresh), so requests opened meanwhile show; an unchanged answer changes nothing on screen.
      const again = () => setTimeout(() => { if (!awaiting) WF.host.trigger("refresh", {}); again(); }, REFRESH_MS);
      again();
      return;
    }
    const config = WF.host.config();
    if (!config.key) {
      WF.clear(body, WF.empty("🔑", "Not connected", "Open this page with #key=<app key>&user=<email>&groups=<groups>."));
      return;
    }
    api = new WF.Api(config);
    if (WF.absence) WF.absence.mount(panel, { api, onChange: load });
    load();
    WF.live(api, (type) => { if (type.startsWith("request.") || type === "events.reset") load(); },
      (state) => {
        live.dataset.state = state;
        live.textContent = state === "live" ? "Live" : state === "retrying" ? "Reconnecting…" : "";
        if (state === "live") { load(); } // what changed before the stream (re)opened
      });
  });
})(window);
