// SLA analytics of requests (GET /api/v1/analytics/requests) as one view shared by the settings page and the
// run history panel: range and grouping controls, summary tiles, three SVG charts (time to decision p50/p90,
// share decided by the due time, overdue now) and the table of every figure. Loading, error and empty states
// are part of the view. The page supplies `load(params)` (a promise of the answer), or feeds answers in
// through `show(answer)` (bound panels) and hears the controls through `onParams`.
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});
  const { h } = WF;
  const RANGES = [[7, "Last 7 days"], [30, "Last 30 days"], [90, "Last 90 days"], [365, "Last 365 days"]];
  const GROUPS = [["query", "Query"], ["assignee", "Assignee"], ["group", "Group"]];
  const TIME = [{ name: "Median (p50)", color: "var(--wf-primary)" }, { name: "p90", color: "#a5b4fc" }];
  const SHARE = [{ name: "Decided by the due time", color: "var(--wf-success)" }];
  const OVERDUE = [{ name: "Overdue now", color: "var(--wf-danger)" }];
  const pct = (v) => `${Math.round(v * 100)}%`;
  const count = (v) => String(Math.round(v));

  function select(id, label, options, value) {
    return h("div", { class: "wf-field" }, h("label", { for: id }, label),
      h("select", { id, name: id }, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text))));
  }

  function tile(label, value, note, kind) {
    return h("div", { class: "wfa-tile", "data-kind": kind || null, "data-figure": label },
      h("div", { class: "wfa-tile-label" }, label), h("div", { class: "wfa-tile-value" }, value),
      note ? h("div", { class: "wfa-tile-note" }, note) : null);
  }

  function tiles(t) {
    const share = t.within_due_share;
    return h("div", { class: "wfa-tiles" },
      tile("Opened", count(t.opened)),
      tile("Decided", count(t.decided), t.auto_resolved ? `+ ${t.auto_resolved} resolved on due` : null),
      tile("Expired", count(t.expired), t.cancelled ? `${t.cancelled} cancelled` : null, t.expired ? "warn" : null),
      tile("Median to decide", WF.shortDuration(t.p50_seconds), t.p90_seconds !== null ? `p90 ${WF.shortDuration(t.p90_seconds)}` : "no decisions"),
      tile("Decided by due time", share === null ? "—" : pct(share),
        share === null ? "no request had a due time" : `${t.within_due} of ${t.within_due + t.past_due}`,
        share !== null && share < 0.8 ? "warn" : null),
      tile("Overdue now", count(t.overdue_now), "pending past due", t.overdue_now ? "bad" : "good"));
  }

  function chartCard(title, help, series, chart) {
    return h("figure", { class: "wfa-chart" }, h("figcaption", {}, h("strong", {}, title), h("span", { class: "wf-small" }, help)),
      WF.chartLegend(series), chart);
  }

  function charts(answer) {
    const rows = answer.rows;
    const decided = rows.filter((r) => r.p50_seconds !== null);
    const shared = rows.filter((r) => r.within_due_share !== null);
    const overdue = rows.filter((r) => r.overdue_now > 0);
    const what = { query: "query", assignee: "assignee", group: "group" }[answer.group_by];
    return h("div", { class: "wfa-charts" },
      decided.length ? chartCard("Time to decision", `per ${what}: median and 90th percentile`, TIME,
        WF.barChart(decided.map((r) => ({ label: r.key, values: [r.p50_seconds, r.p90_seconds] })), TIME,
          { title: `Time to decision per ${what}`, format: WF.shortDuration,
            max: WF.durationAxisEnd(Math.max(...decided.map((r) => r.p90_seconds))) }))
        : h("p", { class: "wf-small" }, "No request was decided by a person in this range."),
      shared.length ? chartCard("Decided by the due time", "of the requests with a due time that ended", SHARE,
        WF.barChart(shared.map((r) => ({ label: r.key, values: [r.within_due_share] })), SHARE,
          { title: `Share decided by the due time per ${what}`, format: pct, max: 1 }))
        : null,
      overdue.length ? chartCard("Overdue now", "pending requests past their due time", OVERDUE,
        WF.barChart(overdue.map((r) => ({ label: r.key, values: [r.overdue_now] })), OVERDUE,
          { title: `Overdue requests per ${what}`, format: count }))
        : h("p", { class: "wfa-ok wf-small", "data-overdue": "none" }, "Nothing is overdue right now."));
  }

  function table(answer) {
    const heads = [answer.group_by === "query" ? "Query" : answer.group_by === "group" ? "Group" : "Assignee",
      "Opened", "Decided", "Expired", "Median", "p90", "By due", "Overdue"];
    return h("div", { class: "wfa-table-wrap" }, h("table", { class: "wf-table" },
      h("caption", { class: "wf-sr" }, "Figures per row"),
      h("thead", {}, h("tr", {}, heads.map((t, i) => h("th", { scope: "col", class: i ? "wfa-num" : null }, t)))),
      h("tbody", {}, answer.rows.map((r) => h("tr", { "data-row": r.key },
        h("td", {}, r.key), ...[r.opened, r.decided, r.expired, WF.shortDuration(r.p50_seconds), WF.shortDuration(r.p90_seconds),
          r.within_due_share === null ? "—" : pct(r.within_due_share), r.overdue_now].map((v) => h("td", { class: "wfa-num" }, v)))))));
  }

  function isEmpty(t) {
    return !(t.opened || t.decided || t.expired || t.auto_resolved || t.cancelled || t.overdue_now);
  }

  // opts: {load(params) -> Promise<answer>, onParams(params), scopeNote}
  WF.analyticsView = function analyticsView(opts) {
    const state = { days: 30, group_by: "query" };
    const result = h("div", { class: "wfa-result", "aria-live": "polite" });
    const controls = h("form", { class: "wf-toolbar wfa-controls", "aria-label": "Analytics filters",
      onsubmit: (e) => { e.preventDefault(); refresh(); } },
    select("wfa-range", "Range", RANGES, state.days), select("wfa-group", "Group by", GROUPS, state.group_by),
    h("button", { class: "wf-btn", type: "submit" }, "Refresh"));
    controls.addEventListener("change", () => refresh());
    const loads = WF.latest(); // the filters can change before an answer comes: only the latest filters' is shown
    const el = h("div", { class: "wfa", "data-analytics": "" }, controls,
      opts.scopeNote ? h("p", { class: "wf-small wfa-scope" }, opts.scopeNote) : null, result);

    function params() {
      state.days = Number(controls.querySelector("#wfa-range").value);
      state.group_by = controls.querySelector("#wfa-group").value;
      const until = new Date();
      const since = new Date(until.getTime() - state.days * 86400000);
      return { since: since.toISOString(), until: until.toISOString(), group_by: state.group_by };
    }

    function loading() {
      el.setAttribute("aria-busy", "true");
      WF.clear(result, h("div", { class: "wfa-tiles" }, Array.from({ length: 6 }, () => h("div", { class: "wfa-tile wfa-tile-loading" },
        h("div", { class: "wf-skeleton" }), h("div", { class: "wf-skeleton" })))), WF.skeleton(3));
    }

    function failed(err) {
      el.removeAttribute("aria-busy");
      WF.clear(result, h("div", { class: "wfa-error" }, WF.alert("error", `Could not load the analytics: ${WF.refusal(err)}`),
        h("button", { class: "wf-btn wf-btn-sm", type: "button", onclick: () => refresh() }, "Try again")));
    }

    function show(answer) {
      el.removeAttribute("aria-busy");
      if (!answer || !answer.totals) { loading(); return; }
      if (answer.error) { failed(new WF.ApiError(0, answer)); return; }
      const day = (iso) => new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
      const span = `${day(answer.since)} – ${day(answer.until)}`;
      if (isEmpty(answer.totals)) {
        WF.clear(result, WF.empty("▁▃▅", "No requests in this range",
          `Nothing was opened or decided ${span}${answer.scope === "own" ? " among your requests" : ""}. Try a longer range.`));
        return;
      }
      WF.clear(result, h("p", { class: "wf-small wfa-span" }, `${span} · ${answer.scope === "own" ? "your requests" : "all requests"}`),
        tiles(answer.totals), charts(answer), table(answer));
    }

    async function refresh() {
      const p = params();
      if (opts.onParams) opts.onParams(p);
      if (!opts.load) return;
      loading();
      const latest = loads();
      try {
        const answer = await opts.load(p);
        if (latest()) show(answer);
      } catch (err) {
        if (latest()) failed(err);
      }
    }

    return { el, refresh, show, failed, params };
  };
})(typeof window !== "undefined" ? window : globalThis);
