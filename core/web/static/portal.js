// The client portal: a file chosen (or a photo taken) is sent at once; the company chooser
// shows that company. No inline script (CSP); the forms work without this file too.
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-autosubmit]").forEach((input) => {
    input.addEventListener("change", () => {
      if (!input.files || !input.files.length) return;
      const form = input.form;
      const sending = form.querySelector(".sending");
      const company = form.querySelector("select[name=company_id]");
      if (company && !company.value) {
        company.setCustomValidity(company.dataset.required || "");
        company.reportValidity();
        input.value = "";
        return;
      }
      if (sending) sending.hidden = false;
      form.querySelectorAll(".big-button").forEach((b) => b.setAttribute("aria-disabled", "true"));
      form.submit();
    });
  });
  document.querySelectorAll("select[name=company_id]").forEach((select) => {
    select.addEventListener("change", () => select.setCustomValidity(""));
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
})();
