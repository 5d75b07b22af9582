// The `appsmith` object the dev host injects into each custom widget's srcdoc, before the panel's code,
// behaving as Appsmith's does: READY on load, READY_ACK with model/ui/mode/theme, one message at a time
// awaiting MESSAGE_RECEIVED_ACK by key, and a send that fails (a value that cannot be cloned) stalls every
// later message, as it does in Appsmith.
(function () {
  "use strict";
  const state = { model: {}, ui: {}, mode: "DEPLOYED", theme: {} };
  const listeners = { model: new Set(), ui: new Set(), theme: new Set(), ready: [] };
  const queue = [];
  let inflight = null;
  let stalled = false;
  let ready = false;
  let seq = 0;

  function pump() {
    if (inflight || stalled || !queue.length) return;
    inflight = queue.shift();
    try {
      window.parent.postMessage(inflight, "*");
    } catch (err) {
      stalled = true; // the ack never comes: nothing after this message is delivered
      console.error("custom widget message could not be sent:", err);
    }
  }

  function send(type, data) {
    queue.push({ type, data, key: `${Date.now()}-${++seq}` });
    pump();
  }

  const subscribe = (kind, current) => (fn) => {
    listeners[kind].add(fn);
    fn(current());
    return () => listeners[kind].delete(fn);
  };

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data || {};
    switch (message.type) {
      case "CUSTOM_WIDGET_READY_ACK":
        Object.assign(state, { model: message.model || {}, ui: message.ui || {}, mode: message.mode || "DEPLOYED",
          theme: message.theme || {} });
        ready = true;
        listeners.ready.splice(0).forEach((fn) => fn());
        break;
      case "CUSTOM_WIDGET_MODEL_CHANGE":
        state.model = message.model || {};
        listeners.model.forEach((fn) => fn(state.model));
        break;
      case "CUSTOM_WIDGET_UI_CHANGE":
        state.ui = message.ui || {};
        listeners.ui.forEach((fn) => fn(state.ui));
        break;
      case "CUSTOM_WIDGET_THEME_UPDATE":
        state.theme = message.theme || {};
        listeners.theme.forEach((fn) => fn(state.theme));
        break;
      case "CUSTOM_WIDGET_MESSAGE_RECEIVED_ACK":
        if (inflight && message.key === inflight.key && message.success) {
          inflight = null;
          pump();
        }
        break;
      default:
    }
  });

  window.appsmith = {
    get model() { return state.model; },
    get ui() { return state.ui; },
    get mode() { return state.mode; },
    get theme() { return state.theme; },
    updateModel(obj) {
      state.model = { ...state.model, ...obj };
      send("CUSTOM_WIDGET_UPDATE_MODEL", obj);
    },
    triggerEvent(eventName, contextObj) {
      send("CUSTOM_WIDGET_TRIGGER_EVENT", { eventName, contextObj });
    },
    onModelChange: subscribe("model", () => state.model),
    onUiChange: subscribe("ui", () => state.ui),
    onThemeChange: subscribe("theme", () => state.theme),
    onReady(fn) {
      if (ready) fn();
      else listeners.ready.push(fn);
    },
  };
  window.parent.postMessage({ type: "CUSTOM_WIDGET_READY" }, "*");
})();
