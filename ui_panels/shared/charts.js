// Small charts drawn as inline SVG (no library, no CDN): horizontal bars, one row per label, sized to the
// container's width by the viewBox. Each chart carries a <title> and a text table is offered beside it, so
// the figures are readable without the picture.
(function (root) {
  "use strict";
  const WF = (root.WF = root.WF || {});
  // The SVG namespace, as the HTML parser assigns it (no URL written in the code: exports hold no address at all).
  const NS = (() => {
    const probe = document.createElement("div");
    probe.innerHTML = "<svg></svg>";
    return probe.firstChild.namespaceURI;
  })();

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) el.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten at or above max.
  function niceMax(max) {
    if (!(max > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(max));
    return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= max);
  }

  const short = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

  // rows: [{label, values: [number|null...], note?}]; series: [{name, color}] drawn as stacked thin bars per
  // row (e.g. p50 over p90). opts: {title, format(v), max, width, empty}.
  WF.barChart = function barChart(rows, series, opts) {
    const o = { width: 540, format: String, ...opts };
    const labelW = 150;
    const valueW = 64;
    const barH = 10;
    const gap = 4;
    const rowH = series.length * (barH + gap) + 12;
    const top = 26;
    const height = top + rows.length * rowH + 6;
    const plotW = o.width - labelW - valueW;
    const max = o.max || niceMax(Math.max(0, ...rows.flatMap((r) => r.values.filter((v) => v !== null))));
    const x = (v) => labelW + (plotW * Math.max(0, v)) / max;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
    const chart = svg("svg", { viewBox: `0 0 ${o.width} ${height}`, class: "wf-chart", role: "img",
      "aria-label": o.title, preserveAspectRatio: "xMinYMin meet" },
    svg("title", {}, o.title),
    ticks.map((t) => svg("g", { class: "wf-chart-tick" },
      svg("line", { x1: x(t), x2: x(t), y1: top - 6, y2: height - 4 }),
      svg("text", { x: x(t), y: top - 10, "text-anchor": t === 0 ? "start" : t === max ? "end" : "middle" }, o.format(t)))),
    rows.map((r, i) => {
      const y = top + i * rowH + 4;
      return svg("g", { class: "wf-chart-row", "data-label": r.label },
        svg("text", { x: labelW - 8, y: y + (series.length * (barH + gap)) / 2 + 2, "text-anchor": "end", class: "wf-chart-label" },
          svg("title", {}, r.label), short(r.label, 22)),
        series.map((s, j) => {
          const v = r.values[j];
          const by = y + j * (barH + gap);
          return svg("g", {},
            v === null || v === undefined ? null
              : svg("rect", { x: labelW, y: by, width: Math.max(1.5, x(v) - labelW), height: barH, rx: 2, style: `fill:${s.color}`,
                "data-series": s.name }, svg("title", {}, `${r.label} · ${s.name}: ${o.format(v)}`)),
            svg("text", { x: o.width - 4, y: by + barH - 1, "text-anchor": "end", class: "wf-chart-value" },
              v === null || v === undefined ? "—" : o.format(v)));
        }));
    }));
    return chart;
  };

  // A legend: colored keys with names.
  WF.chartLegend = function chartLegend(series) {
    return WF.h("div", { class: "wf-chart-legend" }, series.map((s) => WF.h("span", {},
      WF.h("i", { style: `background:${s.color}`, "aria-hidden": "true" }), s.name)));
  };

  // An axis end for durations (seconds) whose quarters read well: 20 s, 2 min, 8 h, 24 h, 4 days...
  const DURATION_ENDS = [4, 8, 20, 40, 120, 240, 480, 1200, 2400, 3600, 7200, 14400, 28800, 43200, 86400, 172800,
    345600, 691200, 1209600, 2419200, 4838400, 9676800, 31536000];
  WF.durationAxisEnd = function durationAxisEnd(seconds) {
    return DURATION_ENDS.find((end) => end >= seconds) || niceMax(seconds);
  };

  // "45 s", "12 min", "3.4 h", "2.1 days"
  WF.shortDuration = function shortDuration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Number(seconds);
    if (s < 60) return `${Math.round(s * 10) / 10} s`;
    if (s < 3600) return `${Math.round(s / 6) / 10} min`;
    if (s < 86400 * 2) return `${Math.round(s / 360) / 10} h`;
    return `${Math.round(s / 8640) / 10} days`;
  };
})(typeof window !== "undefined" ? window : globalThis);
