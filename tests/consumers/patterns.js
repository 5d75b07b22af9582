// Compile every `pattern` of an OpenAPI document the way Ajv does with default options (unicode mode).
// Usage: node patterns.js openapi.json  -> prints a JSON list of the patterns that fail, with Ajv's reason.
"use strict";
const fs = require("fs");
const Ajv = require("ajv");

const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const patterns = new Set();
(function collect(node) {
  if (node && typeof node === "object") {
    if (typeof node.pattern === "string") patterns.add(node.pattern);
    Object.values(node).forEach(collect);
  }
})(doc);
const ajv = new Ajv();
const failures = [];
for (const pattern of patterns) {
  try {
    ajv.compile({ type: "string", pattern });
  } catch (error) {
    failures.push({ pattern, reason: error.message });
  }
}
console.log(JSON.stringify({ patterns: patterns.size, failures }));
