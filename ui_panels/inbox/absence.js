// Out of office, in the approvals inbox: set an absence (from, to, delegate, optionally only some queries), see
// it while it lasts, end it; and on a delegate's cards, whom a request is offered for. Standalone it calls
// /api/v1/absences/me itself; bound (a host's custom widget) it shows model.absence and sends the
// "set_absence" / "end_absence" events, and stays hidden unless the app binds an "absence" key.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const FIELDS = ["from", "to", "delegate", "queries", "note"];
  const OFFERS_REFRESH_MS = 60000;

  // "2026-12-08T09:00" for a datetime-local input, in the browser's time zone.
  function localInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function longDate(iso) {
    return new Date(iso).toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  // The chip on a delegate's card: "for ann@example.com".
  function badge(request) {
    if (!request || !request.offered_for) return null;
    return h("span", { class: "wf-chip wf-for", title: `${request.offered_for} is away: you decide for them` }, `for ${request.offered_for}`);
  }

  // Who decided, as a person reads it: "bob@x for ann@x".
  function decidedBy(decision) {
    return decision.acting_for ? `${decision.actor} for ${decision.acting_for}` : decision.actor;
  }

  function mount(panel, options) {
    const { api } = options;
    const bound = !api;
    let absence = null;
    let queries = null; // [{name, label}] once loaded (standalone)
    let pending = null; // bound: {sent, refused} while the app runs Set absence
    let lastResult = null; // bound: model.absence_result as last seen
    // A save or end answered before the first read's answer came is newer than it: that read is then not shown.
    const known = WF.latest();
    const toggle = h("button", { type: "button", class: "wf-btn wf-btn-sm wf-ooo-toggle", "aria-expanded": "false" }, "Out of office");
    const state = h("div", { class: "wf-ooo", "data-absence": "none" });
    const slot = panel.querySelector(".wf-header");
    slot.classList.add("wf-header-ooo");
    slot.append(toggle);
    slot.after(state);
    if (bound) toggle.hidden = true;

    function announce(text) {
      const el = panel.querySelector(".wf-announce");
      if (el) el.textContent = text;
    }

    function isActive() {
      const now = Date.now();
      return Boolean(absence) && new Date(absence.from).getTime() <= now && now < new Date(absence.to).getTime();
    }

    function summary() {
      if (!absence) return null;
      const active = isActive();
      const scope = absence.queries && absence.queries.length ? ` (only ${absence.queries.join(", ")})` : "";
      const end = h("button", { type: "button", class: "wf-btn wf-btn-sm wf-btn-danger", onclick: endAbsence }, active ? "End absence now" : "Cancel absence");
      const change = h("button", { type: "button", class: "wf-btn wf-btn-sm", onclick: () => openForm(true) }, "Change");
      return h("div", { class: `wf-alert ${active ? "wf-alert-warning" : "wf-alert-info"} wf-ooo-summary`, role: "status" },
        h("div", {}, h("strong", {}, active ? "You are out of office" : "Out of office planned"),
          ` from ${longDate(absence.from)} to ${longDate(absence.to)}. `,
          h("strong", {}, absence.delegate), ` ${active ? "is" : "will be"} offered your requests${scope} meanwhile.`,
          absence.note ? h("div", { class: "wf-small" }, `Note: ${absence.note}`) : null),
        h("div", { class: "wf-actions" }, change, end));
    }

    function show() {
      state.dataset.absence = !absence ? "none" : isActive() ? "active" : "planned";
      toggle.textContent = absence ? "Out of office ✓" : "Out of office";
      WF.clear(state, summary());
    }

    function fieldEl(name, label, input, help) {
      const error = h("div", { class: "wf-field-error", id: `ooo-${name}-error` });
      input.id = `ooo-${name}`;
      input.setAttribute("aria-describedby", error.id);
      return { name, input, error, el: h("div", { class: "wf-field", "data-field": name },
        h("label", { for: input.id }, label), input, help ? h("div", { class: "wf-help" }, help) : null, error) };
    }

    function queryPicker(chosen) {
      if (!queries || !queries.length) return null;
      const boxes = queries.map((q) => h("label", { class: "wf-check" },
        h("input", { type: "checkbox", value: q.name, checked: chosen.includes(q.name) }), q.label || q.name));
      const el = h("fieldset", { class: "wf-ooo-queries" }, h("legend", { class: "wf-label" }, "Only these workflows ",
        h("span", { class: "wf-muted" }, "(none ticked: all)")), boxes);
      return { name: "queries", el, error: h("div", { class: "wf-field-error" }),
        read: () => [...el.querySelectorAll("input:checked")].map((i) => i.value) };
    }

    function openForm(editing) {
      const now = new Date();
      const start = absence && editing ? new Date(absence.from) : now;
      const end = absence && editing ? new Date(absence.to) : new Date(now.getTime() + 7 * 86400000);
      const from = fieldEl("from", "From", h("input", { type: "datetime-local", value: localInput(start), required: true }));
      const to = fieldEl("to", "Until", h("input", { type: "datetime-local", value: localInput(end), required: true }));
      const delegate = fieldEl("delegate", "Delegate", h("input", { type: "email", required: true, placeholder: "colleague@example.com",
        value: absence && editing ? absence.delegate : "", autocomplete: "email" }), "They see your requests and decide for you meanwhile");
      const note = fieldEl("note", "Note", h("input", { type: "text", maxlength: 500, placeholder: "Back on Monday",
        value: absence && editing ? absence.note || "" : "" }));
      const picker = queryPicker(absence && editing ? absence.queries || [] : []);
      const fields = { from, to, delegate, note, ...(picker ? { queries: picker } : {}) };
      const feedback = h("div", { class: "wf-feedback" });
      const save = h("button", { type: "submit", class: "wf-btn wf-btn-primary" }, "Save absence");
      const cancel = h("button", { type: "button", class: "wf-btn", onclick: closeForm }, "Cancel");
      const form = h("form", { class: "wf-card wf-ooo-form", "aria-label": "Out of office", novalidate: true },
        h("h2", {}, "Out of office"),
        h("p", { class: "wf-muted" }, "While you are away, your requests are also offered to your delegate, and decisions they make are recorded as made for you."),
        h("div", { class: "wf-grid2" }, from.el, to.el), delegate.el, picker ? picker.el : null, picker ? picker.error : null, note.el,
        feedback, h("div", { class: "wf-actions" }, save, cancel));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        for (const f of Object.values(fields)) { f.error.textContent = ""; if (f.input) f.input.removeAttribute("aria-invalid"); }
        const body = { from: from.input.value ? new Date(from.input.value).toISOString() : "",
          to: to.input.value ? new Date(to.input.value).toISOString() : "", delegate: delegate.input.value.trim(),
          queries: picker ? picker.read() : [], note: note.input.value.trim() };
        save.disabled = true;
        WF.clear(feedback, WF.alert("info", "Saving…"));
        if (bound) {  // the app runs Set absence; its answer comes back as model.absence_result
          pending = { sent: JSON.stringify(lastResult), refused };
          WF.host.trigger("set_absence", body);
          return;
        }
        try {
          absence = await api.call("PUT", "/api/v1/absences/me", body);
          known();
          saved();
        } catch (err) {
          refused(err);
        }
      });
      function refused(err) {
        save.disabled = false;
        const errors = err.fieldErrors ? err.fieldErrors() : {};
        let first = null;
        for (const [name, text] of Object.entries(errors)) {
          const f = fields[name];
          if (!f) continue;
          f.error.textContent = text;
          if (f.input) { f.input.setAttribute("aria-invalid", "true"); first = first || f.input; }
        }
        WF.clear(feedback, WF.alert("error", first ? "Check the fields marked above" : WF.refusal(err)));
        if (first) first.focus();
      }
      toggle.setAttribute("aria-expanded", "true");
      WF.clear(state, form);
      delegate.input.focus();
    }

    function saved() {
      pending = null;
      closeForm();
      announce("Absence saved");
      if (options.onChange) options.onChange();
    }

    function closeForm() {
      toggle.setAttribute("aria-expanded", "false");
      show();
    }

    async function endAbsence() {
      if (!(await WF.confirm(panel, "End your absence?", `${absence.delegate} will no longer be offered your requests.`, "End absence"))) return;
      if (bound) { WF.host.trigger("end_absence", {}); return; }
      try {
        await api.call("DELETE", "/api/v1/absences/me");
        known();
        absence = null;
        show();
        announce("Absence ended");
        if (options.onChange) options.onChange();
      } catch (err) {
        WF.clear(state, WF.alert("error", `Could not end the absence: ${WF.refusal(err)}`), summary());
      }
    }

    toggle.addEventListener("click", () => {
      if (toggle.getAttribute("aria-expanded") === "true") closeForm(); else openForm(Boolean(absence));
    });

    async function load() {
      const latest = known();
      try {
        const answer = await api.call("GET", "/api/v1/absences/me");
        if (!latest()) return;
        absence = answer && answer.delegate ? answer : null;  // none set: the fields are null
      } catch (err) {
        if (!latest()) return;
        absence = null;
        WF.clear(state, WF.alert("error", `Could not read your absence: ${WF.refusal(err)}`));
        return;
      }
      if (toggle.getAttribute("aria-expanded") !== "true") show(); // the form opened meanwhile stays open
    }

    if (!bound) {
      load();
      // Someone's absence beginning or ending changes what this person is offered without any request changing
      // (no event): look again each minute (a bound widget's host already refreshes every 10 s).
      if (options.onChange) setInterval(options.onChange, OFFERS_REFRESH_MS);
      api.queries().then((answer) => { queries = (answer.queries || []).map((q) => ({ name: q.name, label: q.label })); }, () => { queries = []; });
    }
    return {
      // Bound: the app's "absence" model key (null when none is set); without the key the control stays hidden.
      model(model) {
        if (!("absence" in model)) return;
        toggle.hidden = false;
        const result = model.absence_result ?? null;
        const next = model.absence && model.absence.delegate ? model.absence : null;
        const changed = JSON.stringify(next) !== JSON.stringify(absence);
        absence = next;
        if (pending && JSON.stringify(result) !== pending.sent) {  // the app's Set absence answered
          if (result && result.error) pending.refused(new WF.ApiError(result.error.code === "validation_failed" ? 422 : 400, result));
          else if (result && result.delegate) { absence = result; saved(); }
        } else if (changed && toggle.getAttribute("aria-expanded") !== "true") show();
        else if (!state.childElementCount && toggle.getAttribute("aria-expanded") !== "true") show();
        lastResult = result;
      },
    };
  }

  WF.absence = { mount, badge, decidedBy, fields: FIELDS };
})(window);
