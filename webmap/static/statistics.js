// Draws the statistics' charts with ECharts (served by the service itself) from the JSON the
// page carries, and a district page's map with Leaflet. Data strings reach the page only as
// text: ECharts draws them on a canvas, Leaflet popups get text nodes.
//
// Time series are columns or lines over time, aggregated month → quarter → year when the span
// is long, with a zoom (dataZoom); category charts come sorted from the server, one label per
// bar with the chart as tall as its bars need; every chart saves as PNG (toolbox) and its
// table as CSV; clicking a district's or an insurer's bar filters the page by it.
(function () {
  "use strict";
  var COLOURS = ["#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#6d597a", "#457b9d"];
  var MAX_MONTHS = 36, MAX_QUARTERS = 40, ZOOM_FROM = 24, BAR_PX = 22;

  function fmt(value, decimals) {
    if (value === null || value === undefined) return "—";
    return Number(value).toLocaleString("zh-CN", {
      minimumFractionDigits: decimals || 0, maximumFractionDigits: decimals || 0 });
  }

  // "2024-05" → "2024-Q2" → "2024"; values of one period are summed (additive series only)
  function coarser(label, to) {
    var year = label.slice(0, 4);
    if (to === "year") return year;
    return year + "-Q" + Math.ceil(Number(label.slice(5, 7)) / 3);
  }

  function months(first, last) {
    var out = [], y = Number(first.slice(0, 4)), m = Number(first.slice(5, 7));
    while (out.length < 1200) {
      var label = y + "-" + (m < 10 ? "0" : "") + m;
      out.push(label);
      if (label >= last) break;
      m += 1; if (m > 12) { m = 1; y += 1; }
    }
    return out;
  }

  // the chart's periods with the gaps filled (a month without claims is a 0, not missing),
  // coarser when there are too many to read
  function timeSeries(chart) {
    var cats = chart.categories.filter(function (c) { return /^\d{4}-\d{2}$/.test(c); });
    if (chart.time !== "month" || !chart.additive || cats.length !== chart.categories.length) {
      return { categories: chart.categories, series: chart.series, span: chart.time };
    }
    var all = months(cats[0], cats[cats.length - 1]);
    var span = all.length > MAX_MONTHS * 3.5 ? "year" : (all.length > MAX_MONTHS ? "quarter" : "month");
    if (span === "quarter" && all.length / 3 > MAX_QUARTERS) span = "year";
    var labels = [], index = {};
    all.forEach(function (m) {
      var key = span === "month" ? m : coarser(m, span);
      if (!(key in index)) { index[key] = labels.length; labels.push(key); }
    });
    var series = chart.series.map(function (s) {
      var values = labels.map(function () { return 0; });
      chart.categories.forEach(function (c, i) {
        var key = span === "month" ? c : coarser(c, span);
        values[index[key]] += Number(s.values[i] || 0);
      });
      return { name: s.name, values: values };
    });
    return { categories: labels, series: series, span: span };
  }

  function toolbox(chart) {
    return { right: 8, top: 0, feature: { saveAsImage: {
      title: "保存为图片", name: chart.title, pixelRatio: 2, backgroundColor: "#fff" } } };
  }

  function pieOption(chart, tooltip) {
    var data = chart.categories.map(function (c, i) {
      return { name: c, value: chart.series[0].values[i] }; });
    return { color: COLOURS, tooltip: tooltip, toolbox: toolbox(chart),
             legend: { bottom: 0, type: "scroll" },
             series: [{ type: "pie", radius: ["35%", "62%"], data: data, avoidLabelOverlap: true,
                        labelLayout: { hideOverlap: true }, label: { formatter: "{b}\n{d}%" } }] };
  }

  function timeOption(chart, tooltip) {
    var data = timeSeries(chart);
    var many = data.categories.length > ZOOM_FROM;
    var series = data.series.map(function (s) {
      return { name: s.name, type: chart.kind === "line" ? "line" : "bar", data: s.values,
               showSymbol: data.categories.length <= 48, barMaxWidth: 28 };
    });
    return { color: COLOURS, tooltip: tooltip, toolbox: toolbox(chart),
             legend: data.series.length > 1 ? { top: 0, left: 0 } : undefined,
             grid: { left: 8, right: 24, top: 36, bottom: many ? 48 : 8, containLabel: true },
             xAxis: { type: "category", data: data.categories,
                      axisLabel: { hideOverlap: true } },
             yAxis: { type: "value", name: chart.unit },
             dataZoom: many ? [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }]
                            : [{ type: "inside" }],
             series: series };
  }

  function categoryOption(chart, tooltip) {
    var longest = Math.max.apply(null, chart.categories.map(function (c) { return c.length; }).concat([0]));
    var horizontal = chart.kind === "bar" && (chart.categories.length > 6 || longest > 5);
    var categoryAxis = { type: "category", data: chart.categories, inverse: horizontal,
                         axisLabel: horizontal ? { interval: 0, width: 150, overflow: "truncate" }
                                               : { hideOverlap: true } };
    // the unit is in the caption: an axis name at the end of a horizontal axis would be cut
    var valueAxis = { type: "value", name: horizontal ? undefined : chart.unit,
                      axisLabel: { hideOverlap: true } };
    var series = chart.series.map(function (s) {
      return { name: s.name, type: "bar", data: s.values, barMaxWidth: 28,
               barCategoryGap: chart.kind === "histogram" ? "2%" : "30%",
               stack: chart.id.indexOf("deadlines") === 0 ? "steps" : undefined };
    });
    return { color: COLOURS, tooltip: tooltip, toolbox: toolbox(chart),
             legend: chart.series.length > 1 ? { top: 0, left: 0 } : undefined,
             grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
             xAxis: horizontal ? valueAxis : categoryAxis,
             yAxis: horizontal ? categoryAxis : valueAxis, series: series,
             _horizontal: horizontal };
  }

  function option(chart) {
    var d = chart.decimals || 0;
    var tooltip = { trigger: chart.kind === "pie" ? "item" : "axis", confine: true,
                    valueFormatter: function (v) { return fmt(v, d) + " " + chart.unit; } };
    if (chart.kind === "pie") return pieOption(chart, tooltip);
    if (chart.time) return timeOption(chart, tooltip);
    return categoryOption(chart, tooltip);
  }

  function csv(chart) {
    var quote = function (v) {
      var text = v === null || v === undefined ? "" : String(v);
      if (/^[=+\-@\t\r]/.test(text) && isNaN(Number(text))) text = "'" + text;  // not a formula
      return '"' + text.replace(/"/g, '""') + '"';
    };
    var rows = [["类别"].concat(chart.series.map(function (s) { return s.name + (chart.unit ? "（" + chart.unit + "）" : ""); }))];
    chart.categories.forEach(function (c, i) {
      rows.push([c].concat(chart.series.map(function (s) { return s.values[i]; })));
    });
    return "\ufeff" + rows.map(function (r) { return r.map(quote).join(","); }).join("\r\n") + "\r\n";
  }

  function csvButton(el, chart) {
    var button = el.parentNode.querySelector("button.chart-csv");
    if (!button) return;
    button.addEventListener("click", function () {
      var url = URL.createObjectURL(new Blob([csv(chart)], { type: "text/csv;charset=utf-8" }));
      var a = document.createElement("a");
      a.href = url; a.download = chart.title + ".csv";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }

  // a bar of a district, an insurer or a TIS filters the page by it
  function filterOnClick(instance, links) {
    instance.on("click", function (params) {
      var name = params.name;
      var pairs = [["district", links.districts], ["insurer", links.insurers], ["tis", links.tis]];
      for (var i = 0; i < pairs.length; i++) {
        var key = pairs[i][1] && pairs[i][1][name];
        if (key === undefined) continue;
        var url = new URL(window.location.href);
        if (pairs[i][0] === "district" && /^\/districts\//.test(url.pathname)) {
          url.pathname = "/districts/" + key;
        } else {
          url.searchParams.set(pairs[i][0], String(key));
        }
        window.location.assign(url.toString());
        return;
      }
    });
  }

  function drawCharts() {
    var holder = document.getElementById("chart-data");
    if (!holder || !window.echarts) return;
    var charts = {};
    JSON.parse(holder.textContent).forEach(function (section) {
      section.charts.forEach(function (c) { charts[c.id] = c; });
    });
    var linksHolder = document.getElementById("chart-links");
    var links = linksHolder ? JSON.parse(linksHolder.textContent) : {};
    var drawn = [];
    window.riskmapCharts = {};
    function draw(el) {
      var chart = charts[el.getAttribute("data-chart")];
      if (!chart || el.hasAttribute("data-drawn")) return;
      el.setAttribute("data-drawn", "1");
      if (!chart.categories.length) { el.textContent = "无数据"; el.classList.add("empty"); return; }
      var opt = option(chart);
      if (opt._horizontal) {
        el.style.height = Math.max(280, 60 + BAR_PX * chart.categories.length * Math.max(1, chart.series.length / 2)) + "px";
      }
      delete opt._horizontal;
      var instance = window.echarts.init(el, null, { renderer: "canvas" });
      instance.setOption(opt);
      filterOnClick(instance, links);
      csvButton(el, chart);
      window.riskmapCharts[chart.id] = instance;
      drawn.push(instance);
      document.body.setAttribute("data-charts-drawn", String(drawn.length));
    }
    // a chart in a closed section has no size yet: it is drawn when its section opens
    function drawOpen(root) {
      root.querySelectorAll("[data-chart]").forEach(function (el) {
        var closed = el.closest("details.stats-section:not([open])");
        if (!closed) draw(el);
      });
    }
    document.querySelectorAll("details.stats-section").forEach(function (d) {
      d.addEventListener("toggle", function () { if (d.open) drawOpen(d); });
    });
    window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute("data-charts-drawn", "0");
    document.body.setAttribute("data-charts-total", String(document.querySelectorAll("[data-chart]").length));
    drawOpen(document);
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
