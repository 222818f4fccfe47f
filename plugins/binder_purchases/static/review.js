// Review page: Ctrl+Entrée (or Cmd+Entrée) validates the invoice from anywhere on the page;
// Alt+→ / Alt+← open the next / previous document to review of the binder, and so do J / K
// outside the fields. Leaving with unsaved changes asks first.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var validate = document.getElementById("validate");
  var changed = false;
  if (form) {
    form.addEventListener("input", function () { changed = true; });
    form.addEventListener("change", function () { changed = true; });
    form.addEventListener("submit", function () { changed = false; });
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "select" || tag === "textarea" || target.isContentEditable;
  }

  function go(id) {
    var link = document.getElementById(id);
    if (!link || !link.href) { return; }
    if (changed && !window.confirm(document.getElementById("review-nav").dataset.confirm)) {
      return;
    }
    changed = false;
    window.location.assign(link.href);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form && validate) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(validate); } else { validate.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey) { return; }
    var target = null;
    if (event.altKey && event.key === "ArrowRight") { target = "review-next"; }
    else if (event.altKey && event.key === "ArrowLeft") { target = "review-prev"; }
    else if (!event.altKey && !event.shiftKey && !typing(event.target)) {
      if (event.key === "j" || event.key === "J") { target = "review-next"; }
      else if (event.key === "k" || event.key === "K") { target = "review-prev"; }
    }
    if (target) {
      event.preventDefault();  // Alt+← never falls back to the browser's "back"
      go(target);
    }
  });
})();
