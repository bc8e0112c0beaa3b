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
