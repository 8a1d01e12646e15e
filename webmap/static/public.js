/* The public map: draws the approved layers; hidden values say so instead of a number.
 * Every string from the data goes through esc() before it touches HTML. */
(function () {
  "use strict";

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("服务器错误 " + r.status);
      return r.json();
    });
  }

  const PublicMap = {};

  PublicMap.init = function (map, groups, options) {
    const state = { map: map, groups: groups, options: options, byId: {} };
    options.layers.forEach(function (l) { state.byId[String(l.id)] = l; });
    const idOf = {};
    Object.keys(groups).forEach(function (id) { idOf[L.stamp(groups[id])] = id; });
    panel(state);
    state.legend = L.control({ position: "bottomright" });
    state.legend.onAdd = function () {
      state.legendDiv = L.DomUtil.create("div", "riskmap-legend");
      return state.legendDiv;
    };
    state.legend.addTo(map);
    window.RiskBasemap.add(map);  // attribution, 审图号, scale bar and the basemap switcher
    window.RiskBasemap.holdPanel(map, document.getElementById("riskmap-panel"));
    map.on("baselayerchange", function (e) {
      const id = idOf[L.stamp(e.layer)];
      if (id) show(state, id);
    });
    if (options.layers.length) show(state, String(options.layers[0].id));
    PublicMap.state = state;
  };

  function panel(state) {
    const o = state.options;
    const box = document.getElementById("riskmap-panel");
    const tasks = o.tasks.map(function (t) {
      return '<a class="task" id="' + esc(t.id) + '" href="' + esc(t.url) + '"><b>' + esc(t.title) +
        "</b><span>" + esc(t.note) + "</span></a>";
    }).join("");
    box.innerHTML = "<h1>" + esc(o.heading) + "</h1>" +
      '<nav class="owner-tasks" aria-label="业主服务">' + tasks + "</nav>" +
      (o.layers.length ? '<p class="intro">经住房和城乡建设主管部门审核发布的分区统计。项目数过少或由个别项目主导的数值不予公开。</p>'
                       : '<p id="riskmap-empty">暂无已批准公开的图层。</p>') +
      '<p id="riskmap-published"></p>' +
      (o.approval_number ? '<p id="riskmap-approval">审图号：' + esc(o.approval_number) + "</p>" : "") +
      '<p class="links"><a href="' + esc(o.login) + '">登录</a>（监管部门、保险公司及参建单位）</p>' +
      '<p id="riskmap-notice" hidden></p>';
  }

  function show(state, id) {
    const item = state.byId[id];
    const group = state.groups[id];
    document.body.dataset.loading = "1";
    getJSON(item.data_url).then(function (fc) {
      group.clearLayers();
      L.geoJSON(fc, {
        style: function (f) {
          return { color: "#334e68", weight: 1, fillColor: f.properties.colour,
                   fillOpacity: f.properties.suppressed ? 0.35 : 0.75,
                   dashArray: f.properties.suppressed ? "4 3" : null,
                   className: "district-" + f.properties.code };
        },
        onEachFeature: function (f, shape) {
          const p = f.properties;
          shape.bindTooltip("<b>" + esc(p.name) + "</b><br>" + esc(fc.layer.title_zh) + "：" +
            esc(p.value_text) + (p.suppressed || p.value === null ? "" : " " + esc(fc.layer.unit)),
            { sticky: true });
        },
      }).addTo(group);
      legend(state, fc);
      document.getElementById("riskmap-published").textContent =
        "《" + fc.title + "》数据截至 " + fc.as_of + "，批准于 " + fc.approved_at.slice(0, 10) +
        "。全市：" + (fc.city_suppressed || fc.city_value === null ? "不予公开"
          : Number(fc.city_value).toLocaleString("zh-CN", { maximumFractionDigits: fc.layer.decimals || 0 }) +
            " " + fc.layer.unit);
    }).catch(function (err) {
      const n = document.getElementById("riskmap-notice");
      n.textContent = "图层加载失败：" + err.message; n.hidden = false;
    }).finally(function () { document.body.dataset.loading = "0"; });
  }

  function legend(state, fc) {
    const l = fc.legend;
    const rows = l.labels.map(function (label, i) {
      return '<div class="legend-row"><i style="background:' + esc(l.colours[i]) + '"></i>' +
        esc(label) + "</div>";
    });
    rows.push('<div class="legend-row"><i style="background:' + esc(l.no_data.colour) +
      '"></i>无数据或不予公开</div>');
    state.legendDiv.innerHTML = '<div class="legend-title">' + esc(l.title) +
      (l.unit ? "（" + esc(l.unit) + "）" : "") + "</div>" + rows.join("");
  }

  window.PublicMap = PublicMap;
})();
