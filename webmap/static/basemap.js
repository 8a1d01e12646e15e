/* The basemap of every map: a switcher between the configured tile services (Tianditu vector
 * and imagery with their annotation layers, the bureau's XYZ/WMTS servers) and the offline
 * outline drawn from the store; permanent district labels; a metric scale bar; attribution and
 * the map approval number (审图号). Settings come from <script id="basemap-options">.
 * Names from the data are set with textContent (or esc()) only. */
(function () {
  "use strict";

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  // ---- WGS84 -> GCJ-02, the published formula (the same as geo/coords.py). A GCJ-02 basemap
  // (Amap, Tencent) is offset; the data is shifted onto it through the map's CRS, never the
  // basemap, so every vector layer follows without being touched.
  const A = 6378245.0, EE = 0.00669342162296594323;
  function outside(lon, lat) {
    return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }
  function offset(x, y) {
    const u = x - 105.0, v = y - 35.0, PI = Math.PI;
    const common = (20 * Math.sin(6 * u * PI) + 20 * Math.sin(2 * u * PI)) * 2 / 3;
    let dlat = -100 + 2 * u + 3 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * Math.sqrt(Math.abs(u));
    dlat += common + (20 * Math.sin(v * PI) + 40 * Math.sin(v / 3 * PI)) * 2 / 3;
    dlat += (160 * Math.sin(v / 12 * PI) + 320 * Math.sin(v * PI / 30)) * 2 / 3;
    let dlon = 300 + u + 2 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * Math.sqrt(Math.abs(u));
    dlon += common + (20 * Math.sin(u * PI) + 40 * Math.sin(u / 3 * PI)) * 2 / 3;
    dlon += (150 * Math.sin(u / 12 * PI) + 300 * Math.sin(u / 30 * PI)) * 2 / 3;
    const rad = y / 180 * PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    const sq = Math.sqrt(magic);
    return [dlon * 180 / (A / sq * Math.cos(rad) * PI),
            dlat * 180 / ((A * (1 - EE)) / (magic * sq) * PI)];
  }
  function toGcj(lon, lat) {
    if (outside(lon, lat)) return [lon, lat];
    const d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  }
  function fromGcj(lon, lat) {  // fixed-point iteration on the forward transform
    let x = lon, y = lat;
    for (let i = 0; i < 20; i++) {
      const g = toGcj(x, y), dx = g[0] - lon, dy = g[1] - lat;
      x -= dx; y -= dy;
      if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) break;
    }
    return [x, y];
  }
  // built on first use: the script may load before Leaflet (folium puts Leaflet after it)
  let GCJ02 = null;
  function gcjCrs() {
    const MERCATOR = L.Projection.SphericalMercator;
    GCJ02 = GCJ02 || L.extend({}, L.CRS.EPSG3857, {
      code: "GCJ02",
      projection: {
        bounds: MERCATOR.bounds,
        project: function (ll) {
          const g = toGcj(ll.lng, ll.lat);
          return MERCATOR.project(L.latLng(g[1], g[0]));
        },
        unproject: function (p) {
          const g = MERCATOR.unproject(p), w = fromGcj(g.lng, g.lat);
          return L.latLng(w[1], w[0]);
        },
      },
    });
    return GCJ02;
  }

  function readOptions() {
    const holder = document.getElementById("basemap-options");
    return holder ? JSON.parse(holder.textContent) : null;
  }

  function tileSource(source) {
    return L.layerGroup(source.layers.map(function (t) {
      return L.tileLayer(t.url, { subdomains: t.subdomains, maxZoom: 19, maxNativeZoom: t.maxZoom,
                                  layer: t.layer, tk: t.tk, pane: "riskmap-basemap",
                                  className: "basemap-tiles basemap-" + source.id });
    }));
  }

  // The outline basemap: province, cities and districts of the store, drawn in the basemap's
  // pane; the labels are a layer of their own, above the data, never on hover only.
  const STYLES = {
    province: { color: "#6b7a8f", weight: 2.5, dashArray: "8 4 2 4", fillColor: "#f4f1ea", fillOpacity: 1 },
    city: { color: "#4a5568", weight: 2, fill: false },
    district: { color: "#8795a8", weight: 1, dashArray: "4 3", fill: false },
  };

  function outlineLayers(state) {
    const outline = L.layerGroup();
    if (!state.options.outline_url) {  // a map above the city draws its own areas
      state.container.dataset.outline = "none";
      return outline;
    }
    fetch(state.options.outline_url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("服务器错误 " + r.status);
      return r.json();
    }).then(function (fc) {
      L.geoJSON(fc, { pane: "riskmap-basemap", interactive: false,
                      style: function (f) { return STYLES[f.properties.level]; } }).addTo(outline);
      fc.features.forEach(function (f) {
        const p = f.properties;
        if (p.level === "province" || (p.level === "city" && p.code === fc.city)) return;
        L.marker(p.label, { pane: "riskmap-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "map-label map-label-" + p.level, iconSize: null,
                            html: "<span>" + esc(p.name) + "</span>" }) }).addTo(state.labels);
      });
      state.container.dataset.outline = String(fc.features.length);
    }).catch(function () {
      state.container.dataset.outline = "failed";
    });
    return outline;
  }

  function switcher(state) {
    const control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      const box = L.DomUtil.create("div", "basemap-switcher leaflet-bar");
      const title = document.createElement("b");
      title.textContent = "底图";
      box.appendChild(title);
      state.options.sources.forEach(function (s) {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "radio"; input.name = "basemap-" + L.stamp(state.map); input.value = s.id;
        input.checked = s.id === state.current;
        input.addEventListener("change", function () { choose(state, s.id); });
        label.append(input, document.createTextNode(s.name));
        box.appendChild(label);
      });
      const names = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox"; check.checked = true; check.className = "basemap-labels";
      check.addEventListener("change", function () {
        if (check.checked) state.labels.addTo(state.map); else state.labels.remove();
      });
      names.append(check, document.createTextNode("行政区名称"));
      box.appendChild(names);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(state.map);
  }

  // Swap the map's CRS keeping the same projected centre: the basemap stays where it is on
  // screen and the data moves onto it by the GCJ-02 offset.
  function setCrs(map, crs) {
    if (map.options.crs === crs) return;
    const zoom = map.getZoom(), centre = map.options.crs.latLngToPoint(map.getCenter(), zoom);
    map.options.crs = crs;
    map.setView(crs.pointToLatLng(centre, zoom), zoom, { reset: true });
    map.fire("zoomend");  // vector renderers re-project their paths on it
    map.fire("moveend");
  }

  function choose(state, id) {
    const source = state.byId[id];
    const map = state.map;
    if (state.layer) { map.removeLayer(state.layer); }
    if (state.attribution) map.attributionControl.removeAttribution(state.attribution);
    state.current = id;
    state.layer = source.outline ? state.outline : (state.tiles[id] = state.tiles[id] || tileSource(source));
    setCrs(map, source.gcj02 ? gcjCrs() : L.CRS.EPSG3857);
    state.layer.addTo(map);
    state.attribution = esc(source.attribution);
    map.attributionControl.addAttribution(state.attribution);
    state.container.dataset.basemap = id;
    state.container.classList.toggle("basemap-outline-on", !!source.outline);
  }

  const RiskBasemap = {};

  RiskBasemap.add = function (map, options) {
    options = options || readOptions();
    if (!options) return null;
    const state = { map: map, options: options, byId: {}, tiles: {}, container: map.getContainer(),
                    labels: L.layerGroup() };
    options.sources.forEach(function (s) { state.byId[s.id] = s; });
    map.createPane("riskmap-basemap").style.zIndex = 150;  // under the data (overlayPane: 400)
    map.createPane("riskmap-labels").style.zIndex = 620;   // over the data, under popups
    map.getPane("riskmap-labels").style.pointerEvents = "none";
    if (!map.attributionControl) map.attributionControl = L.control.attribution().addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    map.attributionControl.addAttribution(
      '<span class="approval-number">审图号：' + esc(options.approval_number || "未配置") + "</span>");
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    state.outline = outlineLayers(state);
    state.labels.addTo(map);
    state.current = options.default;
    switcher(state);
    choose(state, options.default);
    map.riskBasemap = state;
    return state;
  };
  // A map page: the navigation bar above, the map below it, the page's panel inside the map
  // (so it stays under the bar), where clicks and scrolls on it do not move the map.
  RiskBasemap.holdPanel = function (map, panel) {
    document.body.classList.add("map-page");
    map.getContainer().appendChild(panel);
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
    map.invalidateSize();
  };
  RiskBasemap.esc = esc;  // every map page loads this first: the other scripts share it
  RiskBasemap.toGcj = toGcj;
  RiskBasemap.fromGcj = fromGcj;

  window.RiskBasemap = RiskBasemap;
})();
