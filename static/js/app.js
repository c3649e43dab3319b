// Chairside behaviour that would otherwise need inline script (the CSP forbids inline script and eval).
"use strict";

// "Use" a lab result already on file: copy its value and unit into the row, then let htmx preview it.
function useLastLab(button) {
  const input = document.getElementById(button.dataset.target);
  const unit = document.getElementById(button.dataset.unitTarget);
  if (!input) return null;
  input.value = button.dataset.value;
  if (unit) {
    const option = Array.from(unit.options).find((o) => o.value === button.dataset.unit);
    if (option) unit.value = option.value;
  }
  input.dispatchEvent(new Event("change", { bubbles: true }));
  return input;
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.use-last");
  if (button) {
    const input = useLastLab(button);
    if (input) input.focus();
    return;
  }
  // "Use all": every current (not stale) result on file, in one tap.
  if (event.target.closest("button.use-all-labs")) {
    document.querySelectorAll('button.use-last[data-fresh="1"]').forEach(useLastLab);
  }
});

// Automatic log-off warning. The server ends a session after SESSION_IDLE_MINUTES without a request; a minute
// before, warn and offer "Stay signed in". At the limit, save what is being typed, then reload: the server
// sends the page to sign-in, and signing in returns to the same page with every saved answer.
(function idleWarning() {
  const body = document.body;
  const idleSeconds = Number(body.dataset.idleSeconds || 0);
  if (!idleSeconds) return;
  const warnAt = Math.min(60, Math.floor(idleSeconds / 3));
  let last = Date.now();
  let banner = null;
  let leaving = false;

  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch { return ""; }
  }
  function hide() { if (banner) { banner.remove(); banner = null; } }
  function reset() { last = Date.now(); hide(); }
  function show(secondsLeft) {
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "alert alert-warning idle-warning shadow";
      banner.setAttribute("role", "alertdialog");
      banner.setAttribute("aria-live", "assertive");
      const text = document.createElement("p");
      text.className = "mb-2 idle-text";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-primary";
      button.textContent = "Stay signed in";
      button.addEventListener("click", () => {
        fetch(body.dataset.keepaliveUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
          .then(reset, reset);
      });
      banner.append(text, button);
      body.append(banner);
      button.focus();
    }
    banner.querySelector(".idle-text").textContent =
      `For patient privacy you will be signed out in ${secondsLeft} seconds. Saved work is kept.`;
  }
  document.body.addEventListener("htmx:afterRequest", reset);
  window.setInterval(() => {
    const left = Math.ceil(idleSeconds - (Date.now() - last) / 1000);
    if (left <= 0 && !leaving) {
      leaving = true;
      const active = document.activeElement;
      if (active && active.form) active.dispatchEvent(new Event("change", { bubbles: true }));  // autosave it
      window.setTimeout(() => window.location.reload(), 1500);
    } else if (left <= warnAt && left > 0) {
      show(left);
    }
  }, 1000);
})();

// "None of these" on a red-flag group: every question of the group still "not assessed" becomes No, on screen,
// and is autosaved. A Yes or No already given is never changed.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.none-of-these");
  if (!button) return;
  const group = button.closest(".finding-group");
  let changed = false;
  group.querySelectorAll("fieldset.choice-group").forEach((fieldset) => {
    const checked = fieldset.querySelector("input[type=radio]:checked");
    const no = fieldset.querySelector("input[type=radio][value=no]");
    if (no && (!checked || checked.value === "")) {
      no.checked = true;
      changed = true;
    }
  });
  if (changed) group.closest("form").dispatchEvent(new Event("change", { bubbles: true }));
});
