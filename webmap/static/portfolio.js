// The portfolio page's map: the concentration grid and the worst circles with their totals.
// Values reach the map as numbers and text nodes only.
(function () {
  "use strict";
  var el = document.getElementById("portfolio-map");
  var holder = document.getElementById("portfolio-data");
  if (!el || !holder || !window.L) return;
  var data = JSON.parse(holder.textContent);
  var key = data.basis + "_wan";
  var RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  var map = window.L.map(el, { attributionControl: false });

  function wan(v) { return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 0 }) + " 万元"; }
  function label(text) { var s = document.createElement("span"); s.textContent = text; return s; }

  var max = Math.max.apply(null, data.cells.map(function (c) { return c[key]; }).concat([0]));
  var grid = window.L.layerGroup(data.cells.map(function (c) {
    var level = max > 0 ? Math.min(4, Math.floor(5 * c[key] / max)) : 0;
    var ring = c.ring.map(function (p) { return [p[1], p[0]]; });
    return window.L.polygon(ring, { weight: 0.5, color: "#999", fillColor: RAMP[level], fillOpacity: 0.7 })
      .bindTooltip(label(c.projects + " 个项目 · " + wan(c[key])));
  }));
  var circles = window.L.layerGroup(data.circles.map(function (c) {
    return window.L.circle([c.lat, c.lon], { radius: c.radius_m, color: "#b42318", weight: 2, fillOpacity: 0.15 })
      .bindTooltip(label("#" + c.rank + " · " + c.projects + " 个项目 · " + wan(c[key])), { permanent: c.rank <= 3 });
  }));
  window.L.geoJSON({ type: "FeatureCollection", features: data.outlines.map(function (d) {
    return { type: "Feature", geometry: d.geometry, properties: {} }; }) },
    { style: { color: "#1d3557", weight: 1, fill: false }, interactive: false }).addTo(map);
  grid.addTo(map);
  circles.addTo(map);
  window.L.control.layers(null, { "累积网格": grid, "最大累积圆": circles }, { collapsed: false }).addTo(map);
  var bounds = window.L.latLngBounds([]);
  grid.eachLayer(function (l) { bounds.extend(l.getBounds()); });
  circles.eachLayer(function (l) { bounds.extend(l.getLatLng()); });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] }); else map.setView([25.04, 102.71], 10);
  window.RiskBasemap.add(map);
  el.setAttribute("data-cells", String(data.cells.length));
  el.setAttribute("data-circles", String(data.circles.length));
})();
