// The case map scrolls sideways: show the first step that is ready (or else the last
// finished one) instead of the start of a long chain.
document.querySelectorAll(".case-map .map-scroll").forEach(function (box) {
  var nodes = box.querySelectorAll("g.node");
  var target = box.querySelector("g.node-ready");
  if (!target && nodes.length) {
    var done = box.querySelectorAll("g.node-done");
    target = done.length ? done[done.length - 1] : null;
  }
  if (target) {
    box.scrollLeft = Math.max(0, Number(target.getAttribute("data-x")) - 48);
  }
});
