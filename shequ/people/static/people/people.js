// Registry pages. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  // Fragments that explain a refusal (a reveal without a reason: 400; not allowed: 403) are
  // swapped in like successes when their target asks for it with data-swap-errors.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail && detail.xhr && detail.xhr.status;
    var target = detail && detail.target;
    if (status >= 400 && status < 500 && target && target.hasAttribute("data-swap-errors")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
})();
