// The emulated Appsmith page (the parent of the custom widgets), written for these tests from Appsmith's client:
// - bindings: DynamicBindingUtils' segmenting of "{{ }}" (brace counting) and the evaluation worker. A property
//   that is exactly one binding keeps the value; a text mixing JSON and bindings is TEMPLATE-substituted
//   (objects as JSON, undefined as "undefined") and then validated: the custom widget's Default Model is
//   validated as an OBJECT (a JSON text is parsed; text that does not parse is invalid and the model is {}).
// - queries: PluginActionSaga.evaluateActionParams evaluates each binding of the action's configuration in the
//   browser with this.params, cleans the values with a JSON round trip (removeFunctions: undefined becomes
//   null), sends objects as JSON and everything else as text, with its data type; the server substitutes them.
//   `Query.data` holds the response body, also of a failed run; `run()` rejects when the call failed.
// - custom widgets: component/index.tsx composes the srcDoc (reset CSS, console script, host script as a module
//   then main(), the user's HTML, the user's JS as a module, the user's CSS last) in a sandboxed iframe; every
//   message from the iframe is acknowledged by key; READY is answered with READY_ACK {model, ui, mode, theme};
//   model and size changes are sent after READY; UPDATE_HEIGHT resizes the widget only with Auto Height;
//   TRIGGER_EVENT runs the event's code with the context object's keys in scope (globalContext).
(function () {
  "use strict";
  const setup = window.__APPSMITH__;
  const SANDBOX = "allow-forms allow-modals allow-orientation-lock allow-pointer-lock allow-popups allow-scripts";
  const log = (window.__appsmithLog = []);
  const entities = {};
  const widgets = [];

  function segments(text) {
    const out = [];
    let i = 0;
    while (i < text.length) {
      const start = text.indexOf("{{", i);
      if (start < 0) break;
      let depth = 0;
      let j = start;
      for (; j < text.length; j++) {
        if (text[j] === "{") depth++;
        else if (text[j] === "}") { depth--; if (depth === 0) break; }
      }
      out.push({ whole: text.slice(start, j + 1), js: text.slice(start + 2, j - 1) });
      i = j + 1;
    }
    return out;
  }

  function scope(extra) {
    return { ...entities, appsmith: { user: setup.user, mode: "PUBLISHED", store: {} }, ...(extra || {}) };
  }

  function evaluate(js, extra, self) {
    const names = Object.keys(scope(extra));
    const fn = new Function(...names, `return (${js});`);
    return fn.apply(self || {}, names.map((n) => scope(extra)[n]));
  }

  function runCode(js, extra) {
    const names = Object.keys(scope(extra));
    const fn = new Function(...names, js);
    return fn.apply({}, names.map((n) => scope(extra)[n]));
  }

  // A widget property: one binding keeps its value; otherwise template substitution into text.
  function evaluateProperty(text) {
    const found = segments(text);
    if (found.length === 1 && found[0].whole === text.trim()) return evaluate(found[0].js);
    let out = text;
    for (const s of found) {
      let value;
      try { value = evaluate(s.js); } catch (err) { value = undefined; }
      const shown = value !== null && typeof value === "object" ? JSON.stringify(value) : `${value}`;
      out = out.replace(s.whole, shown);
    }
    return out;
  }

  function asObject(value, widget) {
    if (typeof value === "string") {
      try { value = JSON.parse(value); } catch (err) { widget.errors.push(`Default Model is not valid JSON: ${value.slice(0, 80)}`); return {}; }
    }
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
    widget.errors.push("Default Model is not an object");
    return {};
  }

  function dataType(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    return typeof value;
  }

  function makeQuery(config) {
    const query = {
      data: undefined, isLoading: false, responseMeta: {},
      async run(params) {
        const texts = [config.path, ...Object.values(config.params || {}), ...Object.values(config.headers || {}), config.body || ""];
        const bindings = [...new Set(texts.flatMap((t) => segments(t).map((s) => s.js)))];
        let values = bindings.map((js) => {
          try { return evaluate(js, {}, { params: params || {} }); } catch (err) { return undefined; }
        });
        values = JSON.parse(JSON.stringify(values, (k, v) => (typeof v === "function" ? "Function call" : v)));
        const sent = values.map((v) => ({ text: v !== null && typeof v === "object" ? JSON.stringify(v) : String(v), type: dataType(v) }));
        query.isLoading = true;
        log.push({ kind: "query", name: config.name, params: params || {} });
        const answer = await window.appsmithServerExecute(config.name, bindings, sent);
        query.isLoading = false;
        query.data = answer.body;
        query.responseMeta = { statusCode: answer.status, isExecutionSuccess: answer.ok, headers: answer.headers };
        refreshModels();
        if (!answer.ok) throw new Error(`${config.name} failed with status ${answer.status}`);
        return answer.body;
      },
      clear() { query.data = undefined; refreshModels(); },
    };
    return query;
  }

  function modelOf(widget) {
    widget.errors = [];
    let value;
    try { value = evaluateProperty(widget.config.default_model); } catch (err) {
      widget.errors.push(`Default Model: ${err.message}`);
      value = {};
    }
    return { ...asObject(value, widget), ...widget.updates };
  }

  function post(widget, message) {
    widget.frame.contentWindow.postMessage(message, "*");
  }

  function refreshModels() {
    for (const widget of widgets) {
      const model = modelOf(widget);
      const text = JSON.stringify(model, (k, v) => (v === undefined ? "__undefined__" : v));
      if (text === widget.sent) continue;
      widget.model = model;
      if (widget.ready) { widget.sent = text; post(widget, { type: "CUSTOM_WIDGET_MODEL_CHANGE", model }); }
    }
  }

  function size(widget) {
    return { width: widget.box.clientWidth - 8, height: widget.box.clientHeight - 8 };
  }

  function onMessage(widget, event) {
    const message = event.data || {};
    post(widget, { type: "CUSTOM_WIDGET_MESSAGE_RECEIVED_ACK", key: message.key, success: true });
    log.push({ kind: "message", widget: widget.config.name, type: message.type, data: message.data });
    switch (message.type) {
      case "CUSTOM_WIDGET_READY":
        widget.ready = true;
        widget.model = modelOf(widget);
        widget.sent = JSON.stringify(widget.model, (k, v) => (v === undefined ? "__undefined__" : v));
        post(widget, { type: "CUSTOM_WIDGET_READY_ACK", model: widget.model, ui: size(widget), mode: "DEPLOYED", theme: setup.theme });
        break;
      case "CUSTOM_WIDGET_UPDATE_MODEL":
        widget.updates = { ...widget.updates, ...message.data };
        refreshModels();
        break;
      case "CUSTOM_WIDGET_TRIGGER_EVENT": {
        const code = (widget.config.events || {})[message.data.eventName];
        if (!code) { log.push({ kind: "unconfigured event", name: message.data.eventName }); break; }
        const js = code.trim().replace(/^\{\{/, "").replace(/\}\}$/, "");
        try {
          const result = runCode(js, message.data.contextObj || {});
          if (result && typeof result.catch === "function") result.catch((err) => log.push({ kind: "event error", error: String(err) }));
        } catch (err) { log.push({ kind: "event error", error: String(err) }); }
        break;
      }
      case "CUSTOM_WIDGET_UPDATE_HEIGHT":
        if (widget.config.height === "auto" && message.data && message.data.height) {
          widget.box.style.height = `${message.data.height + 8}px`;
          widget.frame.style.height = `${message.data.height}px`;
        }
        break;
      default:
    }
  }

  function mount(config, parts) {
    const box = document.createElement("section");
    box.className = "widget";
    box.dataset.widget = config.name;
    box.style.height = `${config.fixed_height || 600}px`;
    const frame = document.createElement("iframe");
    frame.title = config.name;
    frame.setAttribute("sandbox", SANDBOX);
    frame.style.width = "calc(100% - 8px)";
    frame.style.height = `${(config.fixed_height || 600) - 8}px`;
    frame.srcdoc = `
    <html>
      <head>
        <style>${setup.reset}</style>
      </head>
      <body>
        <script type="text/javascript"></script>
        <script type="module">
          ${setup.widgetScript}
          main();
        </script>
        ${parts.html}
        <script type="module">
          ${parts.js}
        </script>
        <style>${parts.css}</style>
      </body>
    </html>`;
    const widget = { config, box, frame, ready: false, updates: {}, errors: [], model: {}, sent: null };
    widgets.push(widget);
    window.addEventListener("message", (event) => { if (event.source === frame.contentWindow) onMessage(widget, event); });
    new ResizeObserver(() => {
      if (widget.ready) post(widget, { type: "CUSTOM_WIDGET_UI_CHANGE", ui: size(widget) });
    }).observe(box);
    const label = document.createElement("h2");
    label.textContent = config.name;
    document.getElementById("canvas").append(label, box);
    box.append(frame);
  }

  for (const config of setup.queries) entities[config.name] = makeQuery(config);
  for (const config of setup.widgets) mount(config, setup.parts[config.panel]);
  window.__appsmith = { entities, widgets, evaluate };
  // On page load: the queries set to run on page load, then the widgets see their data.
  Promise.allSettled(setup.queries.filter((q) => q.run_on_page_load).map((q) => entities[q.name].run({})))
    .then(() => { window.__appsmithLoaded = true; });
})();
