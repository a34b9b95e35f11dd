// The dashboard's only hand-written script: everything else is htmx attributes.

// The run list refreshes itself every few seconds, but not while the operator is in
// the middle of something there: a checked box, an open "Resolve…" form, a focused
// input. Decided here rather than in an hx-trigger filter, which htmx would have to
// eval (the Content-Security-Policy allows no eval).
const REFRESH_SECONDS = 5;

function dashboardIdle() {
  return !document.querySelector(
    "#run-table input:checked, #run-table details[open], #run-table input:focus"
  );
}

// A run's page refreshes its live section every two seconds until the run ends (the
// finished section has no hx-get), but not while the operator is filling in one of its
// forms (edited inputs, an output, a note).
const LIVE_SECONDS = 2;

function liveIdle() {
  return !document.querySelector(
    "#run-live details[open], #run-live textarea:focus, #run-live input:focus"
  );
}

setInterval(() => {
  const live = document.getElementById("run-live");
  if (live && live.hasAttribute("hx-get") && liveIdle()) {
    htmx.trigger(document.body, "run-refresh");
  }
}, LIVE_SECONDS * 1000);

setInterval(() => {
  if (document.getElementById("run-table") && dashboardIdle()) {
    htmx.trigger(document.body, "runs-refresh");
  }
}, REFRESH_SECONDS * 1000);

document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("[data-select-all]")) {
    for (const row of document.querySelectorAll("#run-table input[name=ids]")) {
      row.checked = box.checked;
    }
  }
});
