/* Workflow forms: ask before a step that ends or refuses a case; open the form named in the
   address (#workflow after a refused step) and move the focus to its first field. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form.wf-form[data-confirm]")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var opened = document.querySelector("details.wf-action[open]");
    if (opened) {
      opened.scrollIntoView({block: "center"});
      var first = opened.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    }
    var today = new Date();
    var iso = today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0") + "-" +
      String(today.getDate()).padStart(2, "0");
    document.querySelectorAll("form.wf-form input[type=date]").forEach(function (input) {
      if (!input.max && (input.name === "on" || input.name === "delivered_on" || input.name === "told_on")) {
        input.max = iso;
      }
    });
  });
}());
