/* The risk map's behaviour: fills folium's layer groups from the service's endpoints.
 * Every string that comes from the data goes through esc() before it touches HTML. */
(function () {
  "use strict";

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function fmt(value, decimals) {
    if (value === null || value === undefined) return "无数据";
    return Number(value).toLocaleString("zh-CN", {
      minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  function query(filters) {
    const params = new URLSearchParams();
    Object.keys(filters).forEach(function (k) { if (filters[k]) params.set(k, filters[k]); });
    const text = params.toString();
    return text ? "?" + text : "";
  }

  // An API message is "中文。English": the page shows the Chinese (as webmap/errors.py does)
  function chinese(text) {
    const tail = /(。| — )\s*[A-Za-z]/.exec(text);
    if (!tail || !/[\u4e00-\u9fff]/.test(text)) return text;
    return text.slice(0, tail.index) + (tail[1] === "。" ? "。" : "");
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(chinese(body.error || "") || ("服务器错误 " + r.status));
        });
      }
      return r.json();
    });
  }

  const RiskMap = {};

  RiskMap.init = function (map, groups, options) {
    const state = { map: map, groups: groups, options: options, catalogue: {}, heatViews: {},
                    filters: Object.assign({}, options.filters), base: options.layer,
                    overlays: {}, legend: null, loading: 0 };
    const idOf = {};
    Object.keys(groups).forEach(function (id) { idOf[L.stamp(groups[id])] = id; });
    state.opacity = 0.75;
    buildPanel(state);
    window.RiskMapSearch(state, getJSON, query);
    const basemap = window.RiskBasemap.add(map);
    mapControls(state, basemap);
    window.RiskBasemap.holdPanel(map, document.getElementById("riskmap-panel"));
    state.legendControl = L.control({ position: "bottomright" });
    state.legendControl.onAdd = function () {
      state.legendDiv = L.DomUtil.create("div", "riskmap-legend");
      return state.legendDiv;
    };
    state.legendControl.addTo(map);

    getJSON(options.api.layers).then(function (body) {
      body.layers.forEach(function (layer) { state.catalogue[layer.id] = layer; });
      showDistrictLayer(state, state.base);
    }).catch(function (err) { notice(state, "图层目录加载失败：" + err.message); });

    map.on("baselayerchange", function (e) {
      const id = idOf[L.stamp(e.layer)];
      if (id) { state.base = id; showDistrictLayer(state, id); syncUrl(state); }
    });
    map.on("overlayadd", function (e) {
      const id = idOf[L.stamp(e.layer)];
      if (id) { state.overlays[id] = true; loadOverlay(state, id); renderLegend(state); }
    });
    map.on("moveend", function () {
      Object.keys(state.overlays).forEach(function (id) {
        const seen = state.heatViews[id];
        if (seen && (seen.zoom !== map.getZoom() || !seen.box.contains(map.getBounds()))) {
          loadOverlay(state, id);
        }
      });
    });
    map.on("overlayremove", function (e) {
      const id = idOf[L.stamp(e.layer)];
      if (id) { delete state.overlays[id]; groups[id].clearLayers(); renderLegend(state); }
    });
    RiskMap.state = state;
  };

  function notice(state, text) {
    const box = document.getElementById("riskmap-notice");
    if (box) { box.textContent = text; box.hidden = !text; }
  }

  function busy(state, delta) {
    state.loading += delta;
    document.body.classList.toggle("riskmap-loading", state.loading > 0);
    document.body.dataset.loading = String(state.loading);
  }

  function syncUrl(state) {
    const params = Object.assign({}, state.filters, { layer: state.base });
    history.replaceState(null, "", location.pathname + query(params));
  }

  function showDistrictLayer(state, id) {
    const layer = state.catalogue[id];
    if (!layer) return;
    const group = state.groups[id];
    busy(state, 1);
    getJSON(layer.data_url + query(state.filters)).then(function (fc) {
      if (state.base !== id) return;  // the user moved on to another layer meanwhile
      group.clearLayers();
      L.geoJSON(fc, {
        style: function (f) {
          return { color: "#334e68", weight: 1, fillColor: f.properties.colour,
                   fillOpacity: state.opacity, className: "district-" + f.properties.code };
        },
        onEachFeature: function (f, shape) {
          const p = f.properties;
          shape.bindTooltip("<b>" + esc(p.name) + "</b><br>" + esc(layer.title_zh) + "：" +
                            esc(p.value_text) + " " + esc(layer.unit), { sticky: true });
          shape.on("click", function (e) { clickAt(state, e.latlng, p.code); });
        },
      }).addTo(group);
      drawLegend(state, fc.legend, layer);
      notice(state, "");
    }).catch(function (err) {
      if (state.base !== id) return;
      // no stale colours: the previous filters' choropleth and legend go with the error
      group.clearLayers();
      state.districtLegend = "";
      state.legendDiv.dataset.layer = "";
      renderLegend(state);
      notice(state, "图层“" + layer.title_zh + "”加载失败：" + err.message);
    }).finally(function () { busy(state, -1); });
  }

  function drawLegend(state, legend, layer) {
    const rows = legend.labels.map(function (label, i) {
      return '<div class="legend-row"><i style="background:' + esc(legend.colours[i]) +
             '"></i>' + esc(label) + "</div>";
    });
    rows.push('<div class="legend-row"><i style="background:' + esc(legend.no_data.colour) +
              '"></i>' + esc(legend.no_data.label) + "</div>");
    state.districtLegend = '<div class="legend-title">' + esc(legend.title) +
      (legend.unit ? "（" + esc(legend.unit) + "）" : "") + "</div>" + rows.join("") +
      '<div class="legend-note">按' + esc(layer.date_basis_zh) + "筛选期间</div>";
    state.legendDiv.dataset.layer = layer.id;
    renderLegend(state);
  }

  function renderLegend(state) {
    const overlays = Object.keys(state.overlays).map(function (id) {
      const layer = state.catalogue[id];
      if (!layer) return "";
      const key = layer.kind === "heat"
        ? '<i class="heat-ramp"></i>'
        : '<i style="background:#d62728;border-radius:50%"></i>';
      return '<div class="legend-overlay" data-layer="' + esc(id) + '">' + key + "<b>" +
        esc(layer.title_zh) + "</b>：" + esc(layer.description) + "</div>";
    }).join("");
    state.legendDiv.innerHTML = (state.districtLegend || "") + overlays;
  }

  function loadOverlay(state, id) {
    const layer = state.catalogue[id];
    const group = state.groups[id];
    if (!layer || !group) return;
    group.clearLayers();
    if (layer.kind === "heat") {
      // the server sums the heat into cells of a few pixels at this zoom, over the view and
      // as much again around it: panning within that box and this zoom needs nothing new
      const map = state.map, zoom = map.getZoom(), box = map.getBounds().pad(0.5);
      const bbox = [box.getWest(), box.getSouth(), box.getEast(), box.getNorth()]
        .map(function (v) { return v.toFixed(3); }).join(",");
      const view = Object.assign({}, state.filters, { z: String(zoom), bbox: bbox });
      state.heatViews[id] = { zoom: zoom, box: box };
      busy(state, 1);
      getJSON(layer.data_url + query(view)).then(function (cells) {
        if (!state.overlays[id] || state.heatViews[id].box !== box) return;  // superseded
        group.clearLayers();
        // max is the heaviest single weight, so a severe event outshines a minor one
        L.heatLayer(cells, { radius: 18, blur: 14, maxZoom: 13, minOpacity: 0.3,
                             max: layer.heat_max || 1 }).addTo(group);
      }).catch(function (err) { notice(state, layer.title_zh + "加载失败：" + err.message); })
        .finally(function () { busy(state, -1); });
    } else if (layer.kind === "points") {
      busy(state, 1);
      getJSON(layer.data_url + query(state.filters)).then(function (tilejson) {
        projectTiles(state, tilejson, layer.style).addTo(group);
      }).catch(function (err) { notice(state, layer.title_zh + "加载失败：" + err.message); })
        .finally(function () { busy(state, -1); });
    }
  }

  const GRADE_COLOURS = { A: "#2a9d8f", B: "#1f77b4", C: "#f4a261", D: "#d62728" };

  function projectTiles(state, tilejson, style) {
    const styles = {
      projects: function (p) {
        const colour = style === "grade" ? (GRADE_COLOURS[p.grade] || "#9aa5b1")
          : (p.open_risk_events > 0 ? "#d62728" : "#1f77b4");
        return { radius: 5, fill: true, fillColor: colour,
                 fillOpacity: 0.85, color: "#fff", weight: 1 };
      },
      project_clusters: function (p) {
        return { radius: Math.min(4 + Math.sqrt(p.count) * 3, 26), fill: true,
                 fillColor: "#3366cc", fillOpacity: 0.6, color: "#fff", weight: 1 };
      },
    };
    // drawn above the districts but not clickable themselves: a click is resolved by the
    // server to the nearest project (see clickAt), so the districts stay clickable
    return L.vectorGrid.protobuf(tilejson.tiles[0], {
      vectorTileLayerStyles: styles, interactive: false, maxNativeZoom: tilejson.maxzoom,
      rendererFactory: L.canvas.tile, pane: "markerPane",
    });
  }

  // A click on the map: the project under it when project points show, else the district.
  function clickAt(state, latlng, districtCode) {
    const map = state.map;
    if (!state.overlays.project_points || map.getZoom() < 12) {
      showDistrict(state, districtCode);
      return;
    }
    const metres = 8 * 40075016 * Math.cos(latlng.lat * Math.PI / 180) /
      Math.pow(2, map.getZoom() + 8);  // about 8 pixels
    const params = Object.assign({}, state.filters, {
      lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6), radius: metres.toFixed(1) });
    getJSON(state.options.api.near + query(params)).then(function (found) {
      if (found.id === null) showDistrict(state, districtCode);
      else showProjectPopup(state, found.id, latlng);
    }).catch(function (err) { notice(state, "项目查询失败：" + err.message); });
  }

  function showProjectPopup(state, id, latlng) {
    getJSON(state.options.api.projects.replace(/0$/, String(id))).then(function (p) {
      const insurers = p.policies.map(function (po) { return esc(po.insurers); }).join("<br>");
      const html = '<div class="project-popup" data-project="' + esc(id) + '"><b>' +
        esc(p.name) + "</b><br>" +
        "报建号：" + esc(p.permit_no) + "<br>" + esc(p.district) + " · " + esc(p.stage) +
        "<br>承保：" + (insurers || "未投保") +
        "<br>未销项风险事件：" + p.open_risk_events.length + " · 理赔案件：" + p.claims.length +
        '<br><a href="' + esc(state.options.api.project_page.replace(/0$/, String(id))) +
        '" target="_blank">项目详情</a></div>';
      L.popup().setLatLng(latlng).setContent(html).openOn(state.map);
    }).catch(function (err) { notice(state, "项目信息加载失败：" + err.message); });
  }

  function showDistrict(state, code) {
    const panel = document.getElementById("riskmap-summary");
    panel.hidden = false;
    panel.innerHTML = "加载中…";
    getJSON(state.options.api.districts.replace("CODE", code) + query(state.filters))
      .then(function (s) {
        const rows = s.indicators.map(function (x) {
          return "<tr><td>" + esc(x.title) + "</td><td class=num>" + esc(fmt(x.value, x.decimals)) +
            "</td><td class=num>" + esc(fmt(x.city, x.decimals)) + "</td><td>" +
            esc(x.unit) + "</td></tr>";
        }).join("");
        const top = s.top_projects.map(function (p) {
          return '<li><a href="' + esc(state.options.api.project_page.replace(/0$/, String(p.id))) +
            '" target="_blank">' + esc(p.name) + "</a>（" + esc(p.stage) + "，未销项 " +
            esc(p.open_risk_events) + "，严重 " + esc(p.severe_risk_events) + "）</li>";
        }).join("");
        panel.innerHTML = '<button type="button" class="close" aria-label="关闭">×</button>' +
          "<h2>" + esc(s.name) + "</h2><table><thead><tr><th>指标</th><th>本区</th>" +
          "<th>全市</th><th>单位</th></tr></thead><tbody>" + rows + "</tbody></table>" +
          "<h3>风险最高的项目</h3><ol>" + (top || "<li>无</li>") + "</ol>" +
          '<p class="links"><a class="district-page" href="' +
          esc(state.options.api.district_page.replace("CODE", code) + query(state.filters)) +
          '">区域详情与报告下载</a></p>';
        panel.querySelector(".close").onclick = function () { panel.hidden = true; };
      }).catch(function (err) { panel.textContent = "加载失败：" + err.message; });
  }

  function option(value, label, selected) {
    return '<option value="' + esc(value) + '"' + (selected ? " selected" : "") + ">" +
      esc(label) + "</option>";
  }

  function select(name, label, items, current) {
    return "<label>" + esc(label) + '<select name="' + name + '">' + option("", "全部", !current) +
      items.map(function (it) {
        const value = it.id !== undefined ? it.id : it.code;
        return option(value, it.name, String(value) === String(current));
      }).join("") + "</select></label>";
  }

  function buildPanel(state) {
    const o = state.options;
    const f = state.filters;
    const panel = document.getElementById("riskmap-panel");
    panel.innerHTML = "<h1>" + esc(o.title) + "</h1>" +
      '<form id="riskmap-filters">' +
      '<label>期间<input name="period" placeholder="2024 / 2024-Q2 / 2024-05" value="' +
      esc(f.period || "") + '"></label>' +
      '<label>起<input name="from" type="date" value="' + esc(f.from || "") + '"></label>' +
      '<label>止<input name="to" type="date" value="' + esc(f.to || "") + '"></label>' +
      select("insurer", "保险公司", o.insurers, f.insurer) +
      select("tis", "风险管理机构", o.tis, f.tis) +
      select("district", "区县", o.districts, f.district) +
      select("stage", "项目阶段", o.stages, f.stage) +
      '<button type="submit">筛选</button><button type="reset">清除</button></form>' +
      '<p id="riskmap-notice" hidden></p>' +
      '<section id="riskmap-summary" hidden></section>';
    const form = document.getElementById("riskmap-filters");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const data = new FormData(form);
      state.filters = {};
      data.forEach(function (v, k) { if (v) state.filters[k] = v; });
      if (state.filters.period) { delete state.filters.from; delete state.filters.to; }
      refresh(state);
    });
    form.addEventListener("reset", function () {
      setTimeout(function () { state.filters = {}; refresh(state); }, 0);
    });
  }

  // the grouped layer list, the fills' opacity, the period slider and the PNG export
  // (static/mapcontrols.js)
  function mapControls(state, basemap) {
    const o = state.options;
    const controls = window.RiskControls;
    const box = controls.layerTree(state.map, state.groups, o.layer_list, state.base)
      .getContainer().querySelector(".leaflet-control-layers-list");
    function fade(value) {
      state.opacity = value;
      state.groups[state.base].eachLayer(function (shape) {
        shape.setStyle({ fillOpacity: value });
      });
    }
    const range = controls.opacity(box, state.opacity, fade);
    // heat drawn over full colours is unreadable: switching a heat layer on fades the fills
    state.map.on("overlayadd", function (e) {
      const heat = Object.keys(state.groups).some(function (id) {
        return state.groups[id] === e.layer && /^heat_/.test(id);
      });
      if (heat && state.opacity > 0.35) {
        range.value = "35";
        range.dispatchEvent(new Event("input"));
      }
    });
    controls.periodSlider(document.getElementById("riskmap-filters"), o.years || [],
                          state.filters.period, function (year) {
      const form = document.getElementById("riskmap-filters");
      form.elements.period.value = year;
      form.elements.from.value = ""; form.elements.to.value = "";
      delete state.filters.from; delete state.filters.to;
      if (year) state.filters.period = year; else delete state.filters.period;
      refresh(state);
    });
    controls.exportButton(box, state.map, {
      title: function () {
        const layer = state.catalogue[state.base];
        const period = state.filters.period ? state.filters.period + " · " : "";
        return o.title + " · " + period + (layer ? layer.title_zh : "");
      },
      date: new Date().toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" }),
      approvalNumber: basemap ? basemap.options.approval_number : "",
      source: "数据来源：住宅工程质量潜在缺陷保险信息平台",
      filename: function () { return "风险地图-" + state.base + ".png"; }
    });
  }

  function refresh(state) {
    syncUrl(state);
    showDistrictLayer(state, state.base);
    Object.keys(state.overlays).forEach(function (id) { loadOverlay(state, id); });
    document.getElementById("riskmap-summary").hidden = true;
  }

  window.RiskMap = RiskMap;
})();
