/* Leaflet.draw toolbar and hints in the page's language (L.drawLocal), set before the
 * officer page creates its draw control. Only the tools the page uses are translated
 * fully; the rest fall back to Leaflet.draw's English. */
(function () {
  "use strict";
  if (!window.L || !L.drawLocal || (document.documentElement.lang || "").indexOf("zh") !== 0) { return; }
  var d = L.drawLocal;
  d.draw.toolbar.actions = { title: "取消绘制", text: "取消" };
  d.draw.toolbar.finish = { title: "完成绘制", text: "完成" };
  d.draw.toolbar.undo = { title: "删除最后一个点", text: "删除最后一点" };
  d.draw.toolbar.buttons.polygon = "画多边形（圈选单元或画网格边界）";
  d.draw.toolbar.buttons.rectangle = "画矩形（框选单元或画网格边界）";
  d.draw.toolbar.buttons.polyline = "画线";
  d.draw.toolbar.buttons.circle = "画圆";
  d.draw.toolbar.buttons.marker = "放置标记";
  d.draw.toolbar.buttons.circlemarker = "放置圆点";
  d.draw.handlers.polygon.tooltip = {
    start: "点击开始绘制", cont: "点击继续绘制", end: "点击第一个点结束",
  };
  d.draw.handlers.polyline.error = "<strong>错误：</strong>边不能交叉！";
  d.draw.handlers.polyline.tooltip = { start: "点击开始画线", cont: "点击继续画线", end: "点击最后一点结束" };
  d.draw.handlers.rectangle.tooltip = { start: "按住并拖动鼠标画矩形" };
  d.draw.handlers.simpleshape.tooltip = { end: "松开鼠标完成" };
  d.draw.handlers.circle.tooltip = { start: "按住并拖动鼠标画圆" };
  d.draw.handlers.circle.radius = "半径";
  d.draw.handlers.marker.tooltip = { start: "点击地图放置标记" };
  d.edit.toolbar.actions = {
    save: { title: "保存修改", text: "保存" }, cancel: { title: "取消修改", text: "取消" },
    clearAll: { title: "清除全部", text: "全部清除" },
  };
  d.edit.toolbar.buttons = {
    edit: "编辑图形", editDisabled: "没有可编辑的图形", remove: "删除图形", removeDisabled: "没有可删除的图形",
  };
  d.edit.handlers.edit.tooltip = { text: "拖动控制点修改图形", subtext: "点击取消放弃修改" };
  d.edit.handlers.remove.tooltip = { text: "点击图形删除" };
})();
