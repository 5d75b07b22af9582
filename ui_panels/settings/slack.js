// Slack (the /api/v1/slack admin API): connect the Slack app that posts requests and takes decisions. The bot
// token and the signing secret are write-only (kept with the other secrets: Redis, encrypted); the Request URL
// to give Slack; "Send a test message" says in words why Slack refused, when it does. docs/slack.md.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;

  function secretChip(label, state) {
    if (!state.set) return S.chip("warning", `${label} · not set`);
    return S.chip("ok", `${label} · ${state.source === "env" ? "from environment" : "set"}`);
  }

  function field(id, label, control, help) {
    control.id = id;
    return h("div", { class: "wf-field" }, h("label", { for: id }, label), control,
      help ? h("div", { class: "wf-help" }, help) : null);
  }

  S.register("slack", async (el) => {
    const state = await S.call("GET", "/api/v1/slack");
    const token = h("input", { type: "password", autocomplete: "off", "data-field": "bot_token", placeholder: state.bot_token.set ? "set: type to replace" : "xoxb-…" });
    const secret = h("input", { type: "password", autocomplete: "off", "data-field": "signing_secret", placeholder: state.signing_secret.set ? "set: type to replace" : "from Basic Information" });
    const apiUrl = h("input", { type: "url", "data-field": "api_url", value: state.api_url });
    const feedback = h("div", { "aria-live": "polite" });
    const form = h("form", { novalidate: "" },
      h("div", { class: "wf-grid2" },
        field("slack-token", "Bot token", token, "Bot User OAuth Token (OAuth & Permissions); never shown again"),
        field("slack-secret", "Signing secret", secret, "Basic Information → App Credentials; never shown again")),
      field("slack-api", "Web API URL", apiUrl, "Slack's own unless you route through a proxy"),
      h("div", { class: "wf-actions" }, h("button", { type: "submit", class: "wf-btn wf-btn-primary wf-btn-sm" }, "Save"), feedback));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      if (token.value) body.bot_token = token.value;
      if (secret.value) body.signing_secret = secret.value;
      if (apiUrl.value.trim() && apiUrl.value.trim() !== state.api_url) body.api_url = apiUrl.value.trim();
      if (!Object.keys(body).length) { WF.clear(feedback, h("span", { class: "wf-help" }, "Nothing changed.")); return; }
      try {
        await S.call("PUT", "/api/v1/slack", body);
        S.announce("Slack settings saved");
        await S.load("slack");
      } catch (err) {
        if (err.status === 401) return;
        const unplaced = S.fieldErrors(form, err);
        WF.clear(feedback, unplaced.length || err.status !== 422 ? h("span", { class: "wf-field-error" }, S.message(err)) : null);
      }
    });

    const to = h("input", { id: "slack-test-to", style: "max-width:340px", "aria-label": "Send a test message to", placeholder: "you@example.com or #channel", autocomplete: "off" });
    const result = h("div", { "aria-live": "polite" });
    const send = S.button("Send a test message", async () => {
      if (!to.value.trim()) { WF.clear(result, h("span", { class: "wf-field-error" }, "Type an email or a #channel first.")); to.focus(); return; }
      send.disabled = true;
      WF.clear(result, "Sending…");
      try {
        const answer = await S.call("POST", "/api/v1/slack/test", { to: to.value.trim() });
        WF.clear(result, WF.alert("success", answer.message));
      } catch (err) {
        if (err.status !== 401) WF.clear(result, WF.alert("error", S.message(err)));
      }
      send.disabled = false;
    }, null, { "data-action": "slack-test" });
    const disconnect = state.bot_token.set || state.signing_secret.set ? S.button("Disconnect", async () => {
      if (!(await WF.confirm(el, "Disconnect Slack?", "Requests stop going to Slack and its buttons stop working until you connect again.", "Disconnect"))) return;
      try { await S.call("DELETE", "/api/v1/slack"); await S.load("slack"); } catch (err) { if (err.status !== 401) WF.clear(result, WF.alert("error", S.message(err))); }
    }, "danger") : null;

    WF.clear(el, S.head("slack", "Slack", "Requests posted to Slack, decided with its buttons; who clicked is proven by Slack's signature",
      S.button("Refresh", () => S.load("slack")), disconnect),
    h("p", {}, S.chip(state.connected ? "ok" : "warning", state.connected ? "Connected" : "Not connected"), " ",
      secretChip("Bot token", state.bot_token), " ", secretChip("Signing secret", state.signing_secret)),
    h("div", { class: "wf-field" }, h("label", {}, "Interactivity Request URL (give this to Slack)"), h("code", { "data-slack-url": "" }, state.interactions_url)),
    form,
    h("h3", {}, "Test"),
    h("div", { class: "wf-actions" }, to, send), result,
    h("p", { class: "wf-help" }, "Which requests go to Slack, and to which channels, is set in each workspace's workspace.json (\"slack\"); see docs/slack.md."));
  });
})(typeof window !== "undefined" ? window : globalThis);
