// Forms from a JSON Schema (a query's input, or a request's form fields), with client-side checks that
// give the server's own messages, and a way to show the server's 422 field errors on the fields.
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});
  const h = (...a) => WF.h(...a);
  let formCount = 0;

  // A request's form fields ({name, label, type, required, options, max_length}) as a JSON Schema.
  WF.requestFormSchema = function requestFormSchema(fields) {
    const properties = {};
    const required = [];
    for (const f of fields || []) {
      const spec = { title: f.label || f.name };
      if (f.type === "select") { spec.type = "string"; spec.enum = f.options || []; }
      else if (f.type === "number" || f.type === "integer" || f.type === "boolean") spec.type = f.type;
      else { spec.type = "string"; spec.singleLine = true; if (f.max_length) spec.maxLength = f.max_length; }
      properties[f.name] = spec;
      if (f.required) required.push(f.name);
    }
    return { type: "object", properties, required };
  };

  function humanize(name) {
    const text = String(name).replace(/[_-]+/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // The server's messages (marshmallow), checked the same way; the server stays the judge (422).
  WF.checkValue = function checkValue(spec, raw, required) {
    const empty = raw === "" || raw === null || raw === undefined;
    if (empty) return { error: required ? "Missing data for required field." : null, value: undefined };
    let value = raw;
    if (spec.type === "number" || spec.type === "integer") {
      value = Number(raw);
      if (!Number.isFinite(value) || String(raw).trim() === "") return { error: "Not a valid number." };
      if (spec.type === "integer" && !Number.isInteger(value)) return { error: "Not a valid integer." };
      const { minimum: min, maximum: max } = spec;
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
        if (min !== undefined && max !== undefined) return { error: `Must be greater than or equal to ${min} and less than or equal to ${max}.` };
        return { error: min !== undefined ? `Must be greater than or equal to ${min}.` : `Must be less than or equal to ${max}.` };
      }
      const { exclusiveMinimum: xmin, exclusiveMaximum: xmax } = spec;
      if ((xmin !== undefined && value <= xmin) || (xmax !== undefined && value >= xmax)) {
        if (xmin !== undefined && xmax !== undefined) return { error: `Must be greater than ${xmin} and less than ${xmax}.` };
        return { error: xmin !== undefined ? `Must be greater than ${xmin}.` : `Must be less than ${xmax}.` };
      }
    } else if (spec.type === "boolean") {
      value = Boolean(raw);
    } else {
      value = String(raw);
      const { minLength: lo, maxLength: hi } = spec;
      if ((lo !== undefined && value.length < lo) || (hi !== undefined && value.length > hi)) {
        if (lo !== undefined && hi !== undefined) return { error: `Length must be between ${lo} and ${hi}.` };
        return { error: lo !== undefined ? `Shorter than minimum length ${lo}.` : `Longer than maximum length ${hi}.` };
      }
      // A loose check here; the server's stricter one answers 422 on the field.
      if (spec.format === "email" && !/^[^@\s]+@[^@\s]+$/.test(value)) return { error: "Not a valid email address." };
    }
    if (spec.enum && !spec.enum.includes(value)) return { error: `Must be one of: ${spec.enum.join(", ")}.` };
    return { error: null, value };
  };

  function control(id, spec, value, describedBy) {
    const common = { id, name: id, "aria-describedby": describedBy };
    if (spec.enum) {
      return h("select", common, h("option", { value: "" }, "Choose…"),
        spec.enum.map((opt) => h("option", { value: String(opt), selected: String(opt) === String(value ?? "") }, String(opt))));
    }
    if (spec.type === "boolean") return h("input", { ...common, type: "checkbox", checked: Boolean(value) });
    if (spec.type === "number" || spec.type === "integer") {
      return h("input", { ...common, type: "number", inputmode: "decimal", step: spec.type === "integer" ? "1" : "any",
        min: spec.minimum, max: spec.maximum, value: value ?? "" });
    }
    if (spec.type === "string" && !spec.singleLine && (spec.maxLength || 0) > 200) return h("textarea", { ...common, maxlength: spec.maxLength, rows: 3 }, value ?? "");
    if (spec.type === "object" || spec.type === "array") {
      return h("textarea", { ...common, rows: 3, class: "wf-json", placeholder: spec.type === "array" ? "[ ]" : "{ }" },
        value !== undefined ? JSON.stringify(value) : "");
    }
    return h("input", { ...common, type: spec.format === "email" ? "email" : "text", maxlength: spec.maxLength, value: value ?? "",
      autocomplete: "off" });
  }

  // schemaForm(schema, {values}) -> {el, read(): {values, errors}, showErrors(map), clearErrors(), focusFirstError()}
  WF.schemaForm = function schemaForm(schema, options) {
    const prefix = `wf-f${++formCount}-`;
    const props = (schema && schema.properties) || {};
    const required = new Set((schema && schema.required) || []);
    const values = (options && options.values) || {};
    const rows = {};
    const el = h("div", { class: "wf-grid2" });
    // The API may sort keys: required fields first, in the schema's required order, then the rest.
    const names = [...(schema && schema.required || []).filter((n) => n in props),
      ...Object.keys(props).filter((n) => !required.has(n))];
    for (const name of names) {
      const spec = props[name];
      const id = prefix + name;
      const help = spec.description ? h("div", { class: "wf-help", id: `${id}-help` }, spec.description) : null;
      const error = h("div", { class: "wf-field-error", id: `${id}-error`, role: "alert", hidden: true });
      const input = control(id, spec, values[name] ?? spec.default, [help && `${id}-help`, `${id}-error`].filter(Boolean).join(" "));
      if (required.has(name)) input.setAttribute("aria-required", "true");
      const label = spec.type === "boolean"
        ? h("label", { class: "wf-check", for: id }, input, spec.title || humanize(name))
        : h("label", { for: id }, spec.title || humanize(name), required.has(name) ? h("span", { class: "wf-req", "aria-hidden": "true" }, "*") : null);
      const field = h("div", { class: "wf-field", "data-field": name }, label, spec.type === "boolean" ? null : input, help, error);
      if (spec.type === "string" && !spec.singleLine && (spec.maxLength || 0) > 200) field.style.gridColumn = "1 / -1";
      rows[name] = { spec, input, error };
      el.append(field);
    }

    function setError(name, message) {
      const row = rows[name];
      if (!row) return false;
      row.error.textContent = message || "";
      row.error.hidden = !message;
      if (message) row.input.setAttribute("aria-invalid", "true");
      else row.input.removeAttribute("aria-invalid");
      return true;
    }

    return {
      el,
      read() {
        const out = {};
        const errors = {};
        for (const [name, { spec, input }] of Object.entries(rows)) {
          let raw = spec.type === "boolean" ? input.checked : input.value;
          if ((spec.type === "object" || spec.type === "array") && raw !== "") {
            try { raw = JSON.parse(raw); } catch (e) { errors[name] = "Not valid JSON."; continue; }
            out[name] = raw;
            continue;
          }
          const { error, value } = WF.checkValue(spec, raw, required.has(name));
          if (error) errors[name] = error;
          else if (value !== undefined) out[name] = value;
        }
        return { values: out, errors };
      },
      // Field errors by name; returns the messages that match no field (shown by the caller).
      showErrors(map) {
        const unmatched = [];
        for (const name of Object.keys(rows)) setError(name, null);
        for (const [name, message] of Object.entries(map || {})) if (!setError(name, message)) unmatched.push(`${name}: ${message}`);
        return unmatched;
      },
      focusFirstError() {
        const bad = Object.values(rows).find((r) => !r.error.hidden);
        if (bad) bad.input.focus();
      },
      disable(flag) { for (const { input } of Object.values(rows)) input.disabled = flag; },
      isEmpty: Object.keys(rows).length === 0,
    };
  };
})(typeof window !== "undefined" ? window : globalThis);
