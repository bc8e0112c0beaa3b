/* Bundle pages: draw the ledger's before/after chart from its JSON block, redraw it when htmx
   swaps in a new ledger, and let htmx show the page's 422 answers (errors next to the fields).
   The figures are never written into script code: each chart element names the id of a
   <script type="application/json"> block, and this file reads it with JSON.parse. */
(function () {
  "use strict";

  var BEFORE = "#6b7280"; /* grey, 4.8:1 on white */
  var AFTER = "#1d4ed8"; /* blue, 6.7:1 on white */
  var charts = [];

  function forget(detached) {
    charts = charts.filter(function (chart) {
      if (detached(chart)) {
        chart.dispose();
        return false;
      }
      return true;
    });
  }

  function draw(root) {
    if (typeof window.echarts === "undefined" || !root || !root.querySelectorAll) {
      return;
    }
    forget(function (chart) { return !document.body.contains(chart.getDom()); });
    var elements = root.querySelectorAll("[data-ledger-chart]");
    if (root.matches && root.matches("[data-ledger-chart]")) {
      elements = [root];
    }
    Array.prototype.forEach.call(elements, function (el) {
      var source = document.getElementById(el.getAttribute("data-ledger-chart"));
      if (!source) {
        return;
      }
      var data;
      try {
        data = JSON.parse(source.textContent);
      } catch (e) {
        return;
      }
      var old = window.echarts.getInstanceByDom(el);
      if (old) {
        forget(function (chart) { return chart === old; });
      }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      charts.push(chart);
      var label = { show: true, position: "right", color: "#1f2937" };
      chart.setOption({
        animation: false,
        textStyle: { fontFamily: window.getComputedStyle(document.body).fontFamily, fontSize: 13 },
        color: [BEFORE, AFTER],
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0, data: [data.before, data.after], textStyle: { color: "#1f2937" } },
        grid: { left: 8, right: 48, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: "value", axisLabel: { color: "#4b5563" } },
        yAxis: {
          type: "category",
          inverse: true,
          data: data.categories,
          axisLabel: { color: "#1f2937", interval: 0, fontSize: 13 }
        },
        series: [
          { name: data.before, type: "bar", data: data.before_values, label: label },
          { name: data.after, type: "bar", data: data.after_values, label: label }
        ]
      });
    });
  }

  function resize() {
    charts.forEach(function (chart) { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    /* A 422 carries the page with the errors marked: show it like a 200. */
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  window.addEventListener("resize", resize);
})();
