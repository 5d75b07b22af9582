// Bulk decisions in the approvals inbox: a checkbox on each card, "Select all", one resolution for the selected
// requests after a confirmation, and a report in plain words of what happened to each ("8 approved; 2 were
// already decided by bob@…; 1 you may not decide"). Standalone: POST /api/v1/requests/bulk-resolve. Bound: the
// "bulk_resolve" event ({ids, resolution, comment}); the app's answer comes back as model.bulk.
// Loaded before inbox.js (a widget's JS parts are joined in name order): inbox.js calls WF.inboxBulk.attach.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const BOUND_WAIT_MS = 120000; // a bulk of 100 takes seconds; an app that never answers is told after this
  const PAST = { approve: "approved", reject: "rejected", accept: "accepted", decline: "declined", deny: "denied" };

  function past(resolution) {
    return PAST[resolution.toLowerCase()] || `decided “${resolution}”`;
  }

  function plural(n, one, many) { return n === 1 ? one : many; }

  // One sentence of what a bulk answer did, grouped the way a person reads it.
  function report(answer, resolution) {
    const parts = [];
    const results = answer.results || [];
    const decided = results.filter((r) => r.outcome === "decided").length;
    const repeated = results.filter((r) => r.outcome === "repeated").length;
    if (decided) parts.push(`${decided} ${past(resolution)}`);
    if (repeated) parts.push(`${repeated} ${plural(repeated, "was", "were")} already ${past(resolution)} by you`);
    const by = new Map();
    for (const r of results.filter((x) => x.status === 409)) {
      const who = (r.error && r.error.details && r.error.details.decided_by) || "";
      by.set(who, (by.get(who) || 0) + 1);
    }
    for (const [who, n] of by) {
      parts.push(`${n} ${plural(n, "was", "were")} already decided${who ? ` by ${who}` : " or closed"}`);
    }
    const count = (status) => results.filter((r) => r.status === status).length;
    if (count(403)) parts.push(`${count(403)} you may not decide`);
    const forms = results.filter((r) => r.status === 422 && r.error && r.error.details && r.error.details.fields &&
      Object.keys(r.error.details.fields).some((f) => f.startsWith("payload"))).length;
    if (forms) parts.push(`${forms} ${plural(forms, "has a form", "have forms")} to fill in: decide ${plural(forms, "it", "them")} one by one`);
    if (count(422) - forms) parts.push(`${count(422) - forms} ${plural(count(422) - forms, "does", "do")} not offer “${resolution}”`);
    if (count(404)) parts.push(`${count(404)} ${plural(count(404), "is", "are")} no longer there`);
    const other = results.filter((r) => ![200, 403, 404, 409, 422].includes(r.status)).length;
    if (other) parts.push(`${other} could not be sent now: try again`);
    return parts.join("; ") || "Nothing was decided";
  }

  function needsForm(request) {
    return (request.form || []).some((f) => f.required !== false);
  }

  // ctx: {panel, body, cards() -> Map, settled(id, resolution, doc), refused(id, err), reload(), api()}
  function attach(ctx) {
    const selected = new Set();
    let requests = [];
    let awaiting = null; // bound mode: {resolution, ids, bulkAtSend}
    const all = h("input", { type: "checkbox", id: "wf-bulk-all", "aria-controls": "wf-bulk-bar" });
    const count = h("span", { class: "wf-small", "aria-live": "polite" });
    const actions = h("div", { class: "wf-actions", role: "group", "aria-label": "Decide the selected requests" });
    const outcome = h("div", { class: "wf-bulk-report" });
    const comment = h("input", { type: "text", id: "wf-bulk-comment", maxlength: 5000, placeholder: "Comment for each (optional)" });
    const bar = h("div", { class: "wf-toolbar wf-bulk-bar", id: "wf-bulk-bar", hidden: true },
      h("label", { class: "wf-check", for: "wf-bulk-all" }, all, "Select all"), count,
      h("label", { class: "wf-sr", for: "wf-bulk-comment" }, "Comment for each selected request"), comment, actions);
    ctx.body.before(bar, outcome);
    all.addEventListener("change", () => {
      if (all.checked) selectable().forEach((r) => selected.add(r.id)); else selected.clear();
      refresh();
    });

    const selectable = () => requests.filter((r) => !needsForm(r) && ctx.cards().has(r.id) &&
      !ctx.cards().get(r.id).el.dataset.settled && ctx.cards().get(r.id).el.dataset.state !== "decided");

    function common() {
      const chosen = requests.filter((r) => selected.has(r.id));
      if (!chosen.length) return [];
      return chosen[0].resolutions.filter((res) => chosen.every((r) => r.resolutions.includes(res)));
    }

    // Bound, the app must bind `bulk` in the Default Model (and wire the bulk_resolve event) to offer it.
    const wired = () => WF.host.mode !== "bound" || (WF.host.model && "bulk" in WF.host.model);

    function refresh() {
      const open = wired() ? selectable() : [];
      for (const id of [...selected]) if (!open.some((r) => r.id === id)) selected.delete(id);
      bar.hidden = open.length < 2 && !selected.size;
      all.checked = open.length > 0 && selected.size === open.length;
      all.indeterminate = selected.size > 0 && selected.size < open.length;
      count.textContent = selected.size ? `${selected.size} selected` : "Select requests to decide them together";
      const offered = common();
      WF.clear(actions, offered.map((res, i) => h("button", {
        type: "button", class: `wf-btn wf-btn-sm ${i === 0 ? "wf-btn-primary" : "wf-btn-danger"}`,
        "data-bulk": res, disabled: !selected.size || awaiting !== null, onclick: () => confirmAndSend(res),
      }, `${res} selected`)));
      for (const [id, c] of ctx.cards()) {
        if (!c.select) continue;
        c.select.checked = selected.has(id);
        c.select.hidden = bar.hidden || !open.some((r) => r.id === id); // decided here, or nothing to bulk
      }
    }

    async function confirmAndSend(resolution) {
      const ids = requests.filter((r) => selected.has(r.id)).map((r) => r.id);
      if (!ids.length) return;
      const note = comment.value.trim();
      const ok = await WF.confirm(ctx.panel, `${resolution} ${ids.length} ${plural(ids.length, "request", "requests")}?`,
        `Each is decided as if you pressed “${resolution}” on it, with your name on each decision. ` +
        "Requests someone else decides meanwhile are reported, not changed.", `${resolution} ${ids.length}`);
      if (!ok) return;
      WF.clear(outcome, WF.alert("info", `Sending “${resolution}” for ${ids.length} requests…`));
      for (const id of ids) { // a card with feedback outlives a live refresh that no longer lists it
        const card = ctx.cards().get(id);
        if (!card) continue;
        card.buttons.forEach((b) => { b.disabled = true; });
        WF.clear(card.feedback, WF.alert("info", `Sending “${resolution}” with the others…`));
      }
      if (WF.host.mode === "bound") {
        const sent = { resolution, ids, bulkAtSend: JSON.stringify(WF.host.model.bulk ?? null) };
        awaiting = sent;
        refresh();
        WF.host.trigger("bulk_resolve", { ids, resolution, comment: note });
        setTimeout(() => { // the host runs only the events it was given: say so rather than wait forever
          if (awaiting !== sent) return;
          awaiting = null;
          WF.clear(outcome, WF.alert("error", "The app did not answer: its bulk_resolve event may not be set up. Nothing is known to be decided; reload to see."));
          refresh();
        }, BOUND_WAIT_MS);
        return;
      }
      awaiting = { resolution, ids };
      refresh();
      try {
        const answer = await ctx.api().call("POST", "/api/v1/requests/bulk-resolve", { ids, resolution, comment: note });
        done(answer, resolution);
      } catch (err) {
        awaiting = null;
        WF.clear(outcome, WF.alert("error", `Nothing was decided: ${WF.refusal(err)}`));
        refresh();
      }
    }

    function done(answer, resolution) {
      awaiting = null;
      selected.clear();
      comment.value = "";
      for (const r of answer.results || []) {
        if (r.status === 200) ctx.settled(r.id, resolution, r.request);
        else ctx.refused(r.id, new WF.ApiError(r.status, { error: r.error }));
      }
      const refusedAny = (answer.results || []).some((r) => r.status !== 200);
      WF.clear(outcome, WF.alert(refusedAny ? "warning" : "success", report(answer, resolution)));
      refresh();
    }

    return {
      // A new card: its checkbox (none for a request with a form to fill in: it is decided on its own).
      decorate(card, request) {
        if (needsForm(request)) return;
        const label = `Select ${request.name}`;
        card.select = h("input", { type: "checkbox", class: "wf-bulk-select", "aria-label": label,
          onchange: (e) => { if (e.target.checked) selected.add(request.id); else selected.delete(request.id); refresh(); } });
        card.el.querySelector(".wf-card-head").prepend(card.select);
      },
      // The list as last loaded (after each render).
      shown(list) { requests = list; refresh(); },
      // Bound mode: the app's Bulk resolve answer arrived in the model.
      model(model) {
        if (!awaiting || !("bulk" in model) || JSON.stringify(model.bulk ?? null) === awaiting.bulkAtSend) return;
        const { resolution } = awaiting;
        if (model.bulk && model.bulk.results) done(model.bulk, resolution);
        else {
          awaiting = null;
          const err = model.bulk && model.bulk.error ? new WF.ApiError(0, model.bulk) : null;
          WF.clear(outcome, WF.alert("error", `Nothing was decided: ${err ? WF.refusal(err) : "no answer"}`));
          refresh();
        }
      },
    };
  }

  WF.inboxBulk = { attach, report };
})(window);
