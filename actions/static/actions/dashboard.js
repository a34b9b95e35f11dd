// The dashboard's only hand-written script: everything else is htmx attributes.

// The run list refreshes itself, but not while the operator is in the middle of
// something there: a checked box, an open "Resolve…" form, a focused input.
function dashboardIdle() {
  return !document.querySelector(
    "#run-table input:checked, #run-table details[open], #run-table input:focus"
  );
}

// A run's page refreshes its live section until the run ends, but not while the operator
// is filling in one of its forms (edited inputs, an output, a note).
function liveIdle() {
  return !document.querySelector(
    "#run-live details[open], #run-live textarea:focus, #run-live input:focus"
  );
}

document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("[data-select-all]")) {
    for (const row of document.querySelectorAll("#run-table input[name=ids]")) {
      row.checked = box.checked;
    }
  }
});
