// Review page "À valider": Ctrl+Entrée (or Cmd+Entrée) validates the invoice from any field.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var validate = document.getElementById("validate");
  if (!form || !validate) { return; }
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(validate); } else { validate.click(); }
    }
  });
})();
