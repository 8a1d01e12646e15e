/* The risk map's controls beside the data: the layer list grouped by what it shows (folding,
 * Leaflet.Control.Layers.Tree), the districts' opacity, a period slider, and "export this map"
 * as a PNG with its title, legend, scale, north arrow, date and map approval number
 * (html-to-image, from the service's own /vendor). Labels are the catalogue's own words, and
 * still go through esc() before they become HTML. */
(function () {
  "use strict";

  const esc = window.RiskBasemap.esc;  // static/basemap.js, loaded before this

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  const RiskControls = {};

  // layers: [{id, group, title, base}] in the catalogue's order; groups: id -> FeatureGroup.
  // The district indicators' groups start folded but the shown layer's: the list fits a screen.
  RiskControls.layerTree = function (map, groups, layers, current) {
    const shownGroup = (layers.find(function (l) { return l.id === current; }) || {}).group;
    function tree(base) {
      const byGroup = [];
      layers.filter(function (l) { return l.base === base; }).forEach(function (l) {
        let node = byGroup.find(function (g) { return g.name === l.group; });
        if (!node) {
          node = { name: l.group, label: esc(l.group), children: [],
                   collapsed: base && l.group !== shownGroup };
          byGroup.push(node);
        }
        node.children.push({ label: '<span data-layer="' + esc(l.id) + '">' + esc(l.title) +
                             "</span>", layer: groups[l.id] });
      });
      return { label: base ? "区县指标" : "叠加图层", children: byGroup };
    }
    // on a phone the list is one button (tap to open): the map comes first
    const phone = window.matchMedia("(max-width: 640px)").matches;
    const control = L.control.layers.tree(tree(true), tree(false), {
      collapsed: phone, position: "topright", closedSymbol: "▸", openedSymbol: "▾",
      labelIsSelector: "both" });
    control.addTo(map);
    control.getContainer().classList.add("riskmap-layer-tree");
    control.getContainer().querySelector(".leaflet-control-layers-toggle").title = "图层";
    return control;
  };

  // how opaque the district fills are, 0–100 %, at the top of ``box``: onChange(opacity 0–1)
  RiskControls.opacity = function (box, initial, onChange) {
    const part = el("div", "riskmap-opacity");
    const label = el("label", "", "填色透明度 ");
    const range = el("input");
    range.type = "range"; range.min = "0"; range.max = "100"; range.step = "5";
    range.value = String(Math.round(initial * 100)); range.name = "opacity";
    range.setAttribute("aria-label", "区县填色不透明度（%）");
    const shown = el("output", "", range.value + "%");
    range.addEventListener("input", function () {
      shown.textContent = range.value + "%";
      onChange(Number(range.value) / 100);
    });
    label.append(range, shown);
    part.appendChild(label);
    box.prepend(part);
    return range;
  };

  // a slider over the years the programme has data for, "全部" at the left end; a year moved
  // to is the period filter: onChange("2024") or onChange("") for every period
  RiskControls.periodSlider = function (container, years, current, onChange) {
    if (!years.length) return null;
    const box = el("div", "riskmap-period-slider");
    const range = el("input");
    range.type = "range"; range.min = "0"; range.max = String(years.length); range.step = "1";
    range.name = "period-slider"; range.setAttribute("aria-label", "按年份查看");
    const at = years.indexOf(String(current || "").slice(0, 4));
    range.value = String(current && at >= 0 ? at + 1 : 0);
    const shown = el("output");
    function text() {
      const i = Number(range.value);
      return i === 0 ? "全部期间" : years[i - 1] + " 年";
    }
    shown.textContent = text();
    range.addEventListener("input", function () { shown.textContent = text(); });
    range.addEventListener("change", function () {
      const i = Number(range.value);
      onChange(i === 0 ? "" : years[i - 1]);
    });
    const ends = el("div", "ends");
    ends.append(el("span", "", "全部"), el("span", "", years[years.length - 1]));
    box.append(el("span", "what", "期间滑块"), shown, range, ends);
    container.appendChild(box);
    return range;
  };

  function exportFrame(map, info) {
    // what the PNG carries beyond the map: the title over it, a north arrow, and the date and
    // the approval number under it (the legend and scale are the map's own controls)
    const frame = el("div", "riskmap-export-frame");
    frame.append(el("div", "export-title", info.title()),
                 el("div", "export-north", "▲\nN"),
                 el("div", "export-foot", "制图日期：" + info.date + "　　审图号：" +
                    (info.approvalNumber || "未配置") + "　　" + info.source));
    map.getContainer().appendChild(frame);
    return frame;
  }

  // the map's own controls that a printed map does without
  const LEFT_OUT = ["leaflet-control-zoom", "riskmap-layer-tree", "basemap-switcher",
                    "leaflet-control-attribution"];

  function keep(node) {
    if (!node.classList) return true;
    if (node.id === "riskmap-panel") return false;
    return !LEFT_OUT.some(function (c) { return node.classList.contains(c); });
  }

  // at the top of ``box``; info: {title: () => text, date, approvalNumber, source,
  // filename: () => name}
  RiskControls.exportButton = function (box, map, info) {
    const part = el("div", "riskmap-export");
    const button = el("button", "", "导出地图（PNG）");
    button.type = "button";
    const status = el("span", "status");
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "正在生成图片……";
      const frame = exportFrame(map, info);
      const node = map.getContainer();
      window.htmlToImage.toPng(node, { filter: keep, skipFonts: true, pixelRatio: 1,
                                       backgroundColor: "#ffffff" })
        .then(function (url) {
          const link = el("a");
          link.href = url; link.download = info.filename();
          document.body.appendChild(link);
          link.click();
          link.remove();
          status.textContent = "已导出";
        })
        .catch(function () { status.textContent = "导出失败：底图服务不允许截取，请换用轮廓底图后重试"; })
        .finally(function () { frame.remove(); button.disabled = false; });
    });
    part.append(button, status);
    box.prepend(part);
    return button;
  };

  window.RiskControls = RiskControls;
})();
