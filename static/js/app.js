// Chairside behaviour that would otherwise need inline script (the CSP forbids inline script and eval).
"use strict";

document.addEventListener("click", (event) => {
  // "Use" a lab result already on file: copy its value and unit into the row, then let htmx preview it.
  const button = event.target.closest("button.use-last");
  if (!button) return;
  const input = document.getElementById(button.dataset.target);
  const unit = document.getElementById(button.dataset.unitTarget);
  if (!input) return;
  input.value = button.dataset.value;
  if (unit) {
    const option = Array.from(unit.options).find((o) => o.value === button.dataset.unit);
    if (option) unit.value = option.value;
  }
  input.dispatchEvent(new Event("change", { bubbles: true }));
  input.focus();
});
