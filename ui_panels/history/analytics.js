// Run history panel: an Analytics tab beside the runs, with the caller's SLA figures (their own requests and
// decisions; everything with an admin key). Standalone it calls GET /api/v1/analytics/requests itself; bound,
// it shows model.analytics and sends the "analytics" event ({since, until, group_by}) when the range changes.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const panel = document.getElementById("history-root") || document.querySelector('[data-panel="history"]');
  const runsEl = panel.querySelector(".wf-body");
  const bound = () => WF.host.mode === "bound";
  let api = null;
  const view = WF.analyticsView({
    load: bound() ? null : (params) => api.call("GET", "/api/v1/analytics/requests", undefined, params),
    onParams: (params) => { if (bound()) WF.host.trigger("analytics", params); },
  });
  const pane = h("section", { class: "wf-body", id: "history-analytics", role: "tabpanel", "aria-labelledby": "tab-analytics", hidden: true }, view.el);
  const tab = (id, label, on) => h("button", { type: "button", role: "tab", id, "aria-selected": String(on), "aria-controls": on ? runsEl.id : pane.id }, label);
  runsEl.id = runsEl.id || "history-runs";
  runsEl.setAttribute("role", "tabpanel");
  const runsTab = tab("tab-runs", "Runs", true);
  const analyticsTab = tab("tab-analytics", "Analytics", false);
  runsTab.setAttribute("aria-controls", runsEl.id);
  runsEl.setAttribute("aria-labelledby", "tab-runs");
  const tabs = h("div", { class: "wfa-tabs", role: "tablist", "aria-label": "Run history views" }, runsTab, analyticsTab);
  runsEl.before(tabs);
  runsEl.after(pane);
  let loaded = false;

  function choose(analytics) {
    runsTab.setAttribute("aria-selected", String(!analytics));
    analyticsTab.setAttribute("aria-selected", String(analytics));
    runsEl.hidden = analytics;
    pane.hidden = !analytics;
    if (!analytics || loaded) return;
    loaded = true;
    if (bound()) {
      if (WF.host.model.analytics) view.show(WF.host.model.analytics);
      else {
        view.refresh(); // sends the "analytics" event with the range
        WF.clear(view.el.querySelector(".wfa-result"), WF.empty("▁▃▅", "No analytics bound",
          "Bind model.analytics to a query of GET /api/v1/analytics/requests, run by the analytics event."));
      }
      return;
    }
    const config = WF.host.config();
    if (!config.key) { WF.clear(view.el, WF.empty("🔑", "Not connected", "Open this page with #key=<app key>&user=<email>.")); return; }
    api = new WF.Api(config);
    view.refresh();
  }
  runsTab.addEventListener("click", () => choose(false));
  analyticsTab.addEventListener("click", () => choose(true));
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const next = runsTab.getAttribute("aria-selected") === "true" ? analyticsTab : runsTab;
    next.focus();
    choose(next === analyticsTab);
  });
  WF.host.onModel((model) => { if (loaded && model.analytics) view.show(model.analytics); });
})(window);
