/* The overview's charts: horizontal bars drawn from the page's JSON block (never from script
   code written into the page). Each chart has its table next to it, for those who read. */
(function () {
  "use strict";
  var source = document.getElementById("overview-data");
  if (!source || typeof window.echarts === "undefined") return;
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  var COLOURS = { on_time: "#15803d", late: "#b91c1c", overdue: "#c2410c", open: "#1d4ed8", suspended: "#6b7280" };
  document.querySelectorAll("[data-overview-chart]").forEach(function (el) {
    var rows = data[el.getAttribute("data-overview-chart")] || [];
    if (!rows.length) { el.hidden = true; return; }
    el.style.height = Math.max(120, rows.length * 34 + 40) + "px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }),
               axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", label: { show: true, position: "right" },
                 data: rows.map(function (r) {
                   return { value: r.value, itemStyle: { color: COLOURS[r.key] || "#1d4ed8" } };
                 }) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
