// The plugin API client for standalone panels, and live updates over /api/v1/events.
// Every call sends the key and the identity headers the bootstrap app key accepts (X-Workflows-User /
// X-Workflows-Groups); a key set up for user tokens sends X-Workflows-Identity instead (config.identity).
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || `The plugin answered ${status}`);
      this.status = status;
      this.code = err.code || "http_error";
      this.details = err.details || {};
    }
    // Field errors of a 422, keyed by the field name without the "input." prefix.
    fieldErrors(prefix) {
      const out = {};
      for (const [name, msgs] of Object.entries(this.details.fields || {})) {
        const key = prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
        out[key] = Array.isArray(msgs) ? msgs.join(" ") : String(msgs);
      }
      return out;
    }
  }
  WF.ApiError = ApiError;

  // A refusal as a person reads it: "Already approved by bob@example.com at 10:02".
  WF.refusal = function refusal(error) {
    const d = (error && error.details) || {};
    if (error && error.status === 409 && d.decided_by) {
      const word = String(d.resolution || d.status || "decided").toLowerCase();
      const what = word.endsWith("ed") ? word : word.endsWith("e") ? `${word}d` : `${word}ed`;  // Approve -> approved
      return `Already ${what} by ${d.decided_by}${d.decided_at ? ` at ${WF.clock(d.decided_at)}` : ""}`;
    }
    if (error && error.status === 0) return "Cannot reach the plugin; check the connection and try again";
    return (error && error.message) || "Something went wrong";
  };

  class Api {
    constructor(config) {
      this.base = (config.base || "").replace(/\/$/, "");
      this.key = config.key;
      this.user = config.user || "";
      this.groups = config.groups || "";
      this.identity = config.identity || "";
    }

    headers(extra) {
      const h = { Authorization: `Bearer ${this.key}`, ...extra };
      if (this.identity) h["X-Workflows-Identity"] = this.identity;
      if (this.user) h["X-Workflows-User"] = this.user;
      if (this.groups) h["X-Workflows-Groups"] = this.groups;
      return h;
    }

    async call(method, path, body, params) {
      const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)) : null;
      const url = `${this.base}${path}${query && String(query) ? `?${query}` : ""}`;
      let response;
      try {
        response = await fetch(url, {
          method, headers: this.headers(body !== undefined ? { "Content-Type": "application/json" } : {}),
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (e) {
        throw new ApiError(0, { error: { code: "network", message: "Cannot reach the plugin; check the connection and try again" } });
      }
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, data);
      return data;
    }

    queries() { return this.call("GET", "/api/v1/queries"); }
    definition(name) { return this.call("GET", `/api/v1/queries/${encodeURIComponent(name)}/definition`); }
    trigger(name, input) { return this.call("POST", `/api/v1/queries/${encodeURIComponent(name)}/runs`, { input }); }
    runs(filters) { return this.call("GET", "/api/v1/runs", undefined, filters); }
    run(id) { return this.call("GET", `/api/v1/runs/${encodeURIComponent(id)}`); }
    steps(id) { return this.call("GET", `/api/v1/runs/${encodeURIComponent(id)}/steps`); }
    cancel(id) { return this.call("POST", `/api/v1/runs/${encodeURIComponent(id)}/cancel`, {}); }
    retry(id) { return this.call("POST", `/api/v1/runs/${encodeURIComponent(id)}/retry`, {}); }
    requests(params) { return this.call("GET", "/api/v1/requests", undefined, params); }
    resolve(id, body) { return this.call("POST", `/api/v1/requests/${encodeURIComponent(id)}/resolve`, body); }
    manifest() { return this.call("GET", "/manifest.json"); }
    streamToken() { return this.call("POST", "/api/v1/events/token", {}); }
  }
  WF.Api = Api;

  // Live updates: EventSource on a stream token; a fresh token (and Last-Event-ID) when the stream drops.
  // onEvent(type, data); onState("live" | "retrying" | "off").
  WF.live = function live(api, onEvent, onState) {
    let source = null;
    let lastId = "";
    let stopped = false;
    let delay = 1000;
    const types = ["run.updated", "request.opened", "request.updated", "request.decided", "request.expired",
      "request.cancelled", "events.reset"];
    const state = (s) => onState && onState(s);
    async function connect() {
      if (stopped) return;
      let token;
      try {
        token = await api.streamToken();
      } catch (e) {
        if (e.status === 401 || e.status === 403 || e.status === 400) { state("off"); return; } // retrying cannot help
        state("retrying");
        setTimeout(connect, delay = Math.min(delay * 2, 30000));
        return;
      }
      // token.url is a path on the API, or the events edge's absolute URL where it has its own origin (`up`)
      const base = /^https?:\/\//.test(token.url) ? "" : api.base;
      const url = `${base}${token.url}${lastId ? `&last_event_id=${encodeURIComponent(lastId)}` : ""}`;
      source = new EventSource(url);
      source.onopen = () => { delay = 1000; state("live"); };
      for (const type of types) {
        source.addEventListener(type, (e) => {
          if (e.lastEventId) lastId = e.lastEventId;
          let data = {};
          try { data = JSON.parse(e.data); } catch (_) { /* keep {} */ }
          onEvent(type, data);
        });
      }
      source.onerror = () => {
        // EventSource retries by itself while it can; once closed (e.g. the token expired), reconnect here.
        if (source.readyState === EventSource.CLOSED) {
          state("retrying");
          setTimeout(connect, delay);
        } else state("retrying");
      };
    }
    connect();
    return { stop() { stopped = true; if (source) source.close(); state("off"); } };
  };
})(typeof window !== "undefined" ? window : globalThis);
