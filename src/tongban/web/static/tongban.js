// Behaviour every page may use, kept out of the templates so that the pages run under the
// Content-Security-Policy (no inline script, no inline style).

// A form with data-confirm asks before it is sent (an irreversible action).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});

// data-grow="N": the element's share of a flex row (the workbench's due bar).
function tongbanGrow(root) {
  root.querySelectorAll("[data-grow]").forEach(function (el) {
    el.style.flexGrow = el.getAttribute("data-grow");
  });
}
tongbanGrow(document);
document.addEventListener("htmx:afterSwap", function (event) {
  tongbanGrow(event.target);
});

// <a data-back>: back to the page before (the error page's "Go back"); its href is the way
// when there is no page before.
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
