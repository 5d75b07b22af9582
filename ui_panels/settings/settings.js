// The settings page shell: sign-in with the admin key (kept in memory only: never in storage, the URL or the
// DOM once used), signing out when the key stops working, the sections and the audit log.
(function (root) {
  "use strict";
  const WF = root.WF;
  const { h } = WF;
  const S = WF.settings;
  const page = document.getElementById("settings-root");
  const signin = page.querySelector(".wfs-signin");
  const layout = page.querySelector(".wfs-layout");
  const session = page.querySelector(".wfs-session");
  const form = signin.querySelector("form");
  const input = form.querySelector("#admin-key");
  const signinError = form.querySelector(".wfs-signin-error");
  const SECTIONS = ["health", "keys", "runtime", "workspaces", "connections", "slack", "audit", "analytics"];

  function showSignedIn(on) {
    signin.hidden = on;
    layout.hidden = !on;
    session.hidden = !on;
  }

  function signOut(reason) {
    S.api = null;
    showSignedIn(false);
    SECTIONS.forEach((id) => WF.clear(S.section(id)));
    WF.clear(signinError, reason ? WF.alert(reason.kind || "info", reason.text) : null);
    input.focus();
  }
  S.onUnauthorized = () => signOut({ kind: "error", text: "The admin key stopped working (revoked, rotated or expired). Sign in again." });
  session.querySelector('[data-action="sign-out"]').addEventListener("click", () => signOut({ kind: "info", text: "Signed out." }));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      WF.clear(signinError, WF.alert("error", "Paste the admin key first."));
      input.focus();
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    WF.clear(signinError, WF.alert("info", "Checking the key…"));
    const api = new WF.Api({ base: "", key });
    try {
      await api.call("GET", "/api/v1/settings");
    } catch (err) {
      button.disabled = false;
      const text = err.status === 401 ? "That key is not valid (unknown, revoked or expired)."
        : err.status === 403 ? "That is not an admin key: the settings page needs the admin key."
          : S.message(err);
      WF.clear(signinError, WF.alert("error", text));
      input.select();
      return;
    }
    button.disabled = false;
    input.value = ""; // the key lives in the API client's memory only
    S.api = api;
    WF.clear(signinError);
    showSignedIn(true);
    S.announce("Signed in");
    SECTIONS.forEach((id) => S.load(id));
  });

  S.register("audit", async (el) => {
    const data = await S.call("GET", "/api/v1/settings/audit", undefined, { limit: 50 });
    const rows = data.entries.map((e) => h("tr", {},
      h("td", {}, WF.when(e.at)), h("td", {}, e.actor), h("td", {}, e.action.replace(/_/g, " ")),
      h("td", {}, h("code", {}, e.target)),
      h("td", { class: "wfs-changes" }, Object.keys(e.changes || {}).length ? JSON.stringify(e.changes) : "—")));
    WF.clear(el, S.head("audit", "Audit log", "Every change to keys and settings: who, when and what (never a secret)",
      S.button("Refresh", () => S.load("audit"))),
    rows.length ? h("div", { class: "wfs-table-wrap" }, h("table", { class: "wf-table" },
      h("thead", {}, h("tr", {}, ["When", "Who", "What", "Target", "Changes"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)))
      : WF.empty("☰", "No changes yet", "Creating a key or changing a setting records who did it here."));
  });

  // The page has <base href="/ui/settings/">: a bare "#id" link would load the page again, signing out.
  layout.querySelector(".wfs-nav").addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#"]');
    if (!link) return;
    event.preventDefault();
    S.section(link.getAttribute("href").slice(1)).scrollIntoView({ block: "start" });
  });

  showSignedIn(false);
  input.focus();
})(typeof window !== "undefined" ? window : globalThis);
