// Draws the statistics' charts with ECharts (served by the service itself) from the JSON the
// page carries, and a district page's map with Leaflet. Data strings reach the page only as
// text: ECharts draws them on a canvas, Leaflet popups get text nodes.
(function () {
  "use strict";
  var COLOURS = ["#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#6d597a", "#457b9d"];

  function fmt(value, decimals) {
    if (value === null || value === undefined) return "—";
    return Number(value).toLocaleString("zh-CN", {
      minimumFractionDigits: decimals || 0, maximumFractionDigits: decimals || 0 });
  }

  function option(chart) {
    var d = chart.decimals || 0;
    var tooltip = { trigger: chart.kind === "pie" ? "item" : "axis",
                    valueFormatter: function (v) { return fmt(v, d) + " " + chart.unit; } };
    if (chart.kind === "pie") {
      var data = chart.categories.map(function (c, i) {
        return { name: c, value: chart.series[0].values[i] }; });
      return { color: COLOURS, tooltip: tooltip, legend: { bottom: 0, type: "scroll" },
               series: [{ type: "pie", radius: ["35%", "65%"], data: data,
                          label: { formatter: "{b}\n{d}%" } }] };
    }
    // many or long categories read better as horizontal bars
    var longest = Math.max.apply(null, chart.categories.map(function (c) { return c.length; }).concat([0]));
    var horizontal = chart.kind === "bar" && (chart.categories.length > 8 || longest > 6);
    var categoryAxis = { type: "category", data: chart.categories, inverse: horizontal,
                         axisLabel: { interval: 0, rotate: horizontal ? 0 : (chart.categories.length > 6 ? 40 : 0) } };
    var valueAxis = { type: "value", name: chart.unit };
    var series = chart.series.map(function (s) {
      return { name: s.name, type: chart.kind === "line" ? "line" : "bar", data: s.values,
               barCategoryGap: chart.kind === "histogram" ? "2%" : "30%",
               stack: chart.id.indexOf("deadlines") === 0 ? "steps" : undefined };
    });
    return { color: COLOURS, tooltip: tooltip,
             legend: chart.series.length > 1 ? { top: 0 } : undefined,
             grid: { left: 8, right: 24, top: chart.series.length > 1 ? 28 : 16, bottom: 8, containLabel: true },
             xAxis: horizontal ? valueAxis : categoryAxis,
             yAxis: horizontal ? categoryAxis : valueAxis, series: series };
  }

  function drawCharts() {
    var holder = document.getElementById("chart-data");
    if (!holder || !window.echarts) return;
    var charts = {};
    JSON.parse(holder.textContent).forEach(function (section) {
      section.charts.forEach(function (c) { charts[c.id] = c; });
    });
    var drawn = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = charts[el.getAttribute("data-chart")];
      if (!chart) return;
      if (!chart.categories.length) { el.textContent = "无数据"; el.classList.add("empty"); return; }
      var instance = window.echarts.init(el, null, { renderer: "canvas" });
      instance.setOption(option(chart));
      drawn.push(instance);
    });
    window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute("data-charts-drawn", String(drawn.length));
  }

  function drawDistrictMap() {
    var el = document.getElementById("district-map");
    var holder = document.getElementById("district-map-data");
    if (!el || !holder || !window.L) return;
    var data = JSON.parse(holder.textContent);
    var map = window.L.map(el, { attributionControl: false });
    var outline = window.L.geoJSON(data.boundary, { style: { color: "#1d3557", weight: 2, fillOpacity: 0.05 } });
    // the view first: Leaflet cannot place vector layers on a map that has none yet
    map.fitBounds(outline.getBounds(), { padding: [8, 8] });
    outline.addTo(map);
    data.projects.forEach(function (p) {
      var risky = p.severe_open_risk_events > 0, open = p.open_risk_events > 0;
      var marker = window.L.circleMarker([p.lat, p.lon], {
        radius: 4 + Math.min(p.open_risk_events || 0, 8), weight: 1, color: "#fff", fillOpacity: 0.9,
        fillColor: risky ? "#b42318" : (open ? "#f79009" : "#2a9d8f") }).addTo(map);
      var box = document.createElement("div");
      var name = document.createElement("strong");
      name.textContent = p.name;
      var facts = document.createElement("div");
      facts.textContent = p.permit_no + " · 未销项风险事件 " + p.open_risk_events +
        "（严重 " + p.severe_open_risk_events + "）· 理赔 " + p.claims + " 件";
      box.appendChild(name); box.appendChild(facts);
      marker.bindPopup(box);
    });
    if (window.RiskBasemap) window.RiskBasemap.add(map);
    el.setAttribute("data-projects", String(data.projects.length));
  }

  drawCharts();
  drawDistrictMap();
})();
