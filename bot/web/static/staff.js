/* Staff pages: keep the red-flag counts in the header live, and send each text form once.
 * Plain JavaScript, no build step. The counts come from /staff/api/queue-counts, which does
 * not count as activity (the idle logoff still happens); once the session has ended, the page
 * reloads, which shows the login page instead of patient data.
 */
(function () {
  "use strict";

  const POLL_MS = 30000;
  const counts = document.getElementById("alert-counts");

  function show(data) {
    for (const name of ["red_flags", "to_review"]) {
      const value = Number(data[name]) || 0;
      const count = counts.querySelector('[data-count="' + name + '"]');
      if (count && count.textContent !== String(value)) {
        count.textContent = String(value);
      }
      const plural = counts.querySelector('[data-plural="' + name + '"]');
      if (plural) {
        plural.textContent = value === 1 ? "" : "s";
      }
    }
    counts.classList.toggle("has-red-flags", (Number(data.red_flags) || 0) > 0);
  }

  async function poll() {
    try {
      const answer = await fetch("/staff/api/queue-counts", {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (answer.status === 401) {
        window.location.reload();
        return;
      }
      if (answer.ok) {
        show(await answer.json());
      }
    } catch (error) {
      // offline for a moment: keep the last counts and try again at the next tick
    }
    window.setTimeout(poll, POLL_MS);
  }

  if (counts) {
    window.setTimeout(poll, POLL_MS);
  }

  // A second click on "Send text" does nothing (the server refuses a second send anyway).
  for (const form of document.querySelectorAll("form[data-send-once]")) {
    form.addEventListener("submit", function () {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        button.disabled = true;
      }
    });
  }
})();
