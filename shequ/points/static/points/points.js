// Points pages. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
  // The store's confirm dialog names the total for the chosen quantity: this runs in the
  // capture phase, before the shell's data-confirm handler reads the message.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var template = form.getAttribute && form.getAttribute("data-confirm-template");
      var input = template && form.querySelector("input[name=quantity]");
      if (!input) {
        return;
      }
      var quantity = parseInt(input.value, 10);
      var price = parseInt(form.getAttribute("data-price"), 10);
      if (!(quantity > 0) || !(price >= 0)) {
        return;
      }
      form.setAttribute(
        "data-confirm",
        template.replace("{total}", String(price * quantity)).replace("{quantity}", String(quantity))
      );
    },
    true
  );
})();
