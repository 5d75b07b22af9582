// Settings page: SLA analytics of every request (the admin key sees all), drawn by shared/analytics.js.
(function (root) {
  "use strict";
  const WF = root.WF;
  const S = WF.settings;
  let view = null;

  S.register("analytics", async (el) => {
    view = view || WF.analyticsView({
      load: (params) => S.call("GET", "/api/v1/analytics/requests", undefined, params),
      scopeNote: "Every request of every query. Opened counts requests created in the range; decided, expired and the times count requests that ended in it.",
    });
    WF.clear(el, S.head("analytics", "Request analytics",
      "Time to decision, requests decided by their due time, and what is overdue now", null), view.el);
    await view.refresh();
  });
})(typeof window !== "undefined" ? window : globalThis);
