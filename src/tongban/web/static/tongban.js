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

// Every page: where the focus goes when a page opens.
// - An error summary takes the focus, so that a screen reader reads it first and the keyboard
//   starts there; each of its links moves the focus to its field (not only the scroll).
// - A form sent back to change one answer (data-focus) puts the focus on that field.
(function () {
  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
    return true;
  }
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.querySelectorAll("a[data-target]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (focusField(link.getAttribute("data-target"))) event.preventDefault();
      });
    });
    return;
  }
  var form = document.querySelector("form[data-focus]");
  if (form) focusField(form.getAttribute("data-focus"));
})();
