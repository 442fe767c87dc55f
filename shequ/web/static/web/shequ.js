// Shequ shell behaviour. No inline scripts anywhere (Content-Security-Policy: script-src 'self').
(function () {
  "use strict";
  // Move focus to the main region after htmx swaps so keyboard and screen-reader users follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.querySelector) {
      var heading = target.querySelector("h1, h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: false });
      }
    }
  });
  // Forms with data-confirm ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Navigation menus (details/summary): one open at a time; Escape or a click elsewhere closes
  // it; a menu near the right edge opens leftwards so it stays inside the window.
  var groups = document.querySelectorAll("[data-nav-group]");
  function closeAll(except) {
    groups.forEach(function (group) {
      if (group !== except) {
        group.removeAttribute("open");
      }
    });
  }
  groups.forEach(function (group) {
    // Close the others at once on the click (the toggle event comes a task later).
    var summary = group.querySelector("summary");
    if (summary) {
      summary.addEventListener("click", function () {
        if (!group.open) {
          closeAll(group);
        }
      });
    }
    group.addEventListener("toggle", function () {
      if (!group.open) {
        return;
      }
      closeAll(group);
      var item = group.parentElement;
      item.classList.remove("nav-group--end");
      var menu = group.querySelector(".nav-group__menu");
      if (menu && menu.getBoundingClientRect().right > document.documentElement.clientWidth) {
        item.classList.add("nav-group--end");
      }
    });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-nav-group]")) {
      closeAll(null);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelector("[data-nav-group][open]");
      if (open) {
        open.removeAttribute("open");
        open.querySelector("summary").focus();
      }
    }
  });
})();
