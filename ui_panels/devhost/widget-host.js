// The script Appsmith's custom widget puts in the iframe before the user's HTML, as the dev host injects it and
// the Appsmith emulator of tests/hosts/ uses it (written from the behaviour of app/client/src/widgets/CustomWidget/component/customWidgetscript.js, commit
// 7e9b98eb92bdc4da9363526744088ca394b548ed; no code copied). The host puts it in the srcDoc as a module followed
// by `main();`. Facts it follows:
// - it runs as a module (deferred) and defines a non-writable global `appsmith` with model, ui, theme, mode;
// - every message to the parent goes through one queue, flushed in a microtask, one message at a time: each
//   carries a random `key` and the next waits for CUSTOM_WIDGET_MESSAGE_RECEIVED_ACK with that key;
// - READY is sent on window "load"; READY_ACK sets model, ui, theme, mode, starts a ResizeObserver on the body
//   that sends CUSTOM_WIDGET_UPDATE_HEIGHT (document.body.clientHeight), and calls the onReady function once;
// - onModelChange / onUiChange / onThemeChange call the listener at once with the current value;
// - MODEL_CHANGE / UI_CHANGE / THEME_UPDATE replace the value and call listeners with (new, previous);
// - updateModel merges shallowly and sends UPDATE_MODEL; triggerEvent sends TRIGGER_EVENT {eventName, contextObj}.
function main() {
  const handlers = new Map();
  const on = (type, fn) => {
    const list = handlers.get(type) || [];
    list.push(fn);
    handlers.set(type, list);
    return () => list.splice(list.indexOf(fn), 1);
  };
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    (handlers.get(event.data && event.data.type) || []).slice().forEach((fn) => fn(event.data));
  });

  const queue = [];
  let flushing = false;
  function post(type, data) {
    queue.push({ type, data });
    if (flushing) return;
    flushing = true;
    queueMicrotask(async () => {
      while (queue.length) {
        const message = queue.shift();
        await new Promise((resolve) => {
          const key = Math.random();
          const off = on("CUSTOM_WIDGET_MESSAGE_RECEIVED_ACK", (ack) => {
            if (ack.key === key && ack.success) { off(); resolve(); }
          });
          window.parent.postMessage({ ...message, key }, "*"); // a value that cannot be cloned throws here
        });
      }
      flushing = false;
    });
  }

  const subscribers = { model: [], ui: [], theme: [] };
  let readyFn = null;
  let ready = false;
  let readyCalled = false;
  const heights = new ResizeObserver(() => post("CUSTOM_WIDGET_UPDATE_HEIGHT", { height: document.body.clientHeight }));

  function cssTokens(kind) {
    return (source) => {
      let style = document.getElementById(`appsmith-${kind}-css-tokens`);
      if (!style) {
        style = document.createElement("style");
        style.id = `appsmith-${kind}-css-tokens`;
        document.head.appendChild(style);
      }
      const lines = Object.keys(source || {}).filter((k) => ["string", "number"].includes(typeof source[k]))
        .map((k) => `--appsmith-${kind}-${k}: ${source[k]};`);
      style.textContent = `:root {${lines.join(" ")}}`;
    };
  }

  const subscribe = (kind) => (fn) => {
    if (typeof fn !== "function") throw new Error(`on${kind} expects a function as parameter`);
    subscribers[kind].push(fn);
    fn(window.appsmith[kind]);
    return () => { const i = subscribers[kind].indexOf(fn); if (i > -1) subscribers[kind].splice(i, 1); };
  };

  on("CUSTOM_WIDGET_READY_ACK", (event) => {
    window.appsmith.model = event.model;
    window.appsmith.ui = event.ui;
    window.appsmith.theme = event.theme;
    window.appsmith.mode = event.mode;
    heights.observe(document.body);
    window.appsmith.onModelChange(cssTokens("model"));
    window.appsmith.onUiChange(cssTokens("ui"));
    window.appsmith.onThemeChange(cssTokens("theme"));
    ready = true;
    if (!readyCalled && readyFn) { readyCalled = true; readyFn(); }
  });
  const change = (type, kind) => on(type, (event) => {
    if (!event[kind]) return;
    const previous = window.appsmith[kind];
    window.appsmith[kind] = event[kind];
    subscribers[kind].forEach((fn) => fn(event[kind], previous));
  });
  change("CUSTOM_WIDGET_MODEL_CHANGE", "model");
  change("CUSTOM_WIDGET_UI_CHANGE", "ui");
  change("CUSTOM_WIDGET_THEME_UPDATE", "theme");

  if (!window.appsmith) {
    Object.defineProperty(window, "appsmith", {
      configurable: false,
      writable: false,
      value: {
        mode: "", model: {}, ui: {}, theme: {},
        onModelChange: subscribe("model"),
        onUiChange: subscribe("ui"),
        onThemeChange: subscribe("theme"),
        updateModel(obj) {
          if (!obj || typeof obj !== "object") throw new Error("updateModel expects an object as parameter");
          window.appsmith.model = { ...window.appsmith.model, ...obj };
          post("CUSTOM_WIDGET_UPDATE_MODEL", obj);
        },
        triggerEvent(eventName, contextObj) {
          if (typeof eventName !== "string") throw new Error("eventName should be a string");
          if (contextObj && typeof contextObj !== "object") throw new Error("contextObj should be an object");
          post("CUSTOM_WIDGET_TRIGGER_EVENT", { eventName, contextObj });
        },
        onReady(fn) {
          if (typeof fn !== "function") throw new Error("onReady expects a function as parameter");
          readyFn = fn;
          if (ready && !readyCalled) { readyCalled = true; readyFn(); }
        },
      },
    });
  }
  window.addEventListener("load", () => post("CUSTOM_WIDGET_READY"));
}
