/* The admin pages (web/admin.py): copy a one-time link with one tap.
   The button is hidden until this script shows it (no script: select the link by hand). */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var said = button.parentElement.querySelector("[data-copied]");
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      var done = function () { if (said) { said.textContent = "Copied."; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (said) { said.textContent = "Selected: copy it from the menu."; }
        });
      } else {
        try { document.execCommand("copy"); done(); } catch (e) {
          if (said) { said.textContent = "Selected: copy it from the menu."; }
        }
      }
    });
  });
}());
