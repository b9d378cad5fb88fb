/* gridmap shared chart helper on Apache ECharts (vendored: /static/vendor/echarts/).
 *
 * Load echarts.common.min.js (line, bar, pie, scatter, tooltip, legend, dataZoom) or
 * echarts.min.js (everything) before this file, then:
 *
 *   const chart = gm.charts.init(div, option, { theme: "dark" });   // or "light" (default)
 *   chart.setOption(newOption);                                      // later updates
 *
 * CSP-safe: no eval, no inline script; tooltips render as rich text on the canvas
 * (renderMode "richText"), so names coming from data never go through innerHTML.
 * Every chart resizes with its container (ResizeObserver) and with the window. */
(function () {
  "use strict";
  const gm = (window.gm = window.gm || {});
  const PALETTE = ["#3ba7ff", "#35d0a5", "#ffc53d", "#ff7a45", "#9e7bff", "#5ad8f5", "#f759ab", "#a0d911"];
  const THEMES = {
    dark: {
      color: PALETTE,
      backgroundColor: "transparent",
      textStyle: { color: "#c9d6ea", fontFamily: "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif" },
      legend: { textStyle: { color: "#c9d6ea" } },
      categoryAxis: {
        axisLine: { lineStyle: { color: "#3a4d6b" } }, axisLabel: { color: "#9fb3cf" },
        splitLine: { show: false }, axisTick: { show: false },
      },
      valueAxis: {
        axisLine: { show: false }, axisLabel: { color: "#9fb3cf" },
        splitLine: { lineStyle: { color: "rgba(120,150,190,0.18)" } },
      },
      tooltip: { backgroundColor: "rgba(10,22,42,0.92)", borderColor: "#2f6bb3", textStyle: { color: "#e6eefb" } },
    },
    light: {
      color: ["#1f6fd1", "#13a37b", "#d48806", "#d4380d", "#6b4fd8", "#0e9fc4", "#c41d7f", "#5b8c00"],
      backgroundColor: "transparent",
      textStyle: { fontFamily: "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif" },
    },
  };
  let registered = false;

  function registerThemes() {
    if (registered || !window.echarts) return;
    for (const [name, theme] of Object.entries(THEMES)) window.echarts.registerTheme("gm-" + name, theme);
    registered = true;
  }

  /** Merge tooltip defaults so data strings are never rendered as HTML. */
  function safeOption(option) {
    const o = Object.assign({ animationDuration: 300 }, option || {});
    const tips = o.tooltip === undefined ? [] : Array.isArray(o.tooltip) ? o.tooltip : [o.tooltip];
    for (const t of tips) if (t && typeof t === "object") t.renderMode = "richText";
    return o;
  }

  /** Start a chart on `el` (an element or its id) with `option`; returns the ECharts instance. */
  function init(el, option, opts) {
    registerThemes();
    const node = typeof el === "string" ? document.getElementById(el) : el;
    if (!node || !window.echarts) return null;
    const theme = "gm-" + ((opts && opts.theme) || "light");
    const chart = window.echarts.getInstanceByDom(node) ||
      window.echarts.init(node, theme, { renderer: "canvas", locale: (document.documentElement.lang || "zh").startsWith("en") ? "EN" : "ZH" });
    const setOption = chart.setOption.bind(chart);
    chart.setOption = (o, ...rest) => setOption(safeOption(o), ...rest);
    if (option) chart.setOption(option);
    if (window.ResizeObserver) new ResizeObserver(() => chart.resize()).observe(node);
    else window.addEventListener("resize", () => chart.resize());
    return chart;
  }

  gm.charts = { init, palette: PALETTE, themes: THEMES };
})();
