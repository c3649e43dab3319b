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

// Automatic log-off. The server ends a session SESSION_IDLE_MINUTES after the last request of the user's work
// (every autosave counts); the page says how long its session has left by the server's clock (data-idle-seconds)
// and what a full period is (data-idle-limit). A minute before, warn and offer "Stay signed in". A few seconds
// before the server's limit, save what is being typed (autosave), then sign out naming this page, so signing in
// again returns here with every answer and the unfinished typing offered back.
(function idleLogOff() {
  const body = document.body;
  const leftAtLoad = Number(body.dataset.idleSeconds || 0);
  const limit = Number(body.dataset.idleLimit || leftAtLoad);
  if (!limit || !body.dataset.logoutUrl) return;
  const FINAL_SAVE_LEAD = 5;  // seconds before the server's limit: the last save must reach it in time
  const warnAt = Math.min(60, Math.floor(limit / 3));
  let deadline = Date.now() + leftAtLoad * 1000;
  let banner = null;
  let leaving = false;
  // The warning takes the focus, so the field being typed in is autosaved: that save is not the nurse coming back.
  // While the warning shows, only her own key or pointer action (or "Stay signed in") restarts the clock.
  let actedSinceWarning = false;
  for (const type of ["keydown", "pointerdown"]) {
    document.addEventListener(type, () => { actedSinceWarning = true; }, true);
  }

  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch { return ""; }
  }
  function hide() { if (banner) { banner.remove(); banner = null; } }
  function reset() { if (leaving) return; deadline = Date.now() + limit * 1000; hide(); }
  function show(secondsLeft) {
    if (!banner) {
      actedSinceWarning = false;
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
  function signOut() {
    const form = document.createElement("form");
    form.method = "post";
    form.action = body.dataset.logoutUrl;
    const fields = { csrfmiddlewaretoken: csrfToken(), reason: "idle", next: window.location.pathname + window.location.search };
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    body.append(form);
    form.submit();
  }
  function leave() {
    leaving = true;
    const active = document.activeElement;
    const autosaved = active && active.form && active.form.hasAttribute("hx-post");
    if (!autosaved) { signOut(); return; }
    // Save the field being typed in, then sign out once the save has answered (or after 3 s at most).
    let done = false;
    const finish = () => { if (!done) { done = true; signOut(); } };
    body.addEventListener("htmx:afterRequest", (event) => { if (event.detail && event.detail.elt === active.form) finish(); });
    window.setTimeout(finish, 3000);
    active.dispatchEvent(new Event("change", { bubbles: true }));
  }
  body.addEventListener("htmx:afterRequest", () => { if (!banner || actedSinceWarning) reset(); });
  window.setInterval(() => {
    if (leaving) return;
    const left = Math.ceil((deadline - Date.now()) / 1000) - FINAL_SAVE_LEAD;
    if (left <= 0) leave();
    else if (left <= warnAt) show(left);
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

// Medicines step: a search result becomes a chip (a hidden input the form posts), a name not in the list is
// added to "Other medicines" as written, and a chip's × removes it. Each change is autosaved.
(function medicines() {
  function chip(code, name) {
    const item = document.createElement("li");
    item.className = "med-chip";
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "medications";
    input.value = code;
    const label = document.createElement("span");
    label.textContent = name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm chip-remove";
    remove.setAttribute("aria-label", `Remove ${name}`);
    remove.textContent = "×";
    item.append(input, label, remove);
    return item;
  }
  function done(form) {
    const search = document.getElementById("med-search");
    const results = document.getElementById("med-results");
    if (search) { search.value = ""; search.focus(); }
    if (results) results.replaceChildren();
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", (event) => {
    const pick = event.target.closest("button.med-pick");
    const free = event.target.closest("button.med-free");
    const remove = event.target.closest("#med-chips button.chip-remove");
    const chips = document.getElementById("med-chips");
    if (!chips || !(pick || free || remove)) return;
    const form = chips.closest("form");
    if (pick) {
      const already = Array.from(chips.querySelectorAll("input[name=medications]")).some((i) => i.value === pick.dataset.code);
      if (!already) chips.append(chip(pick.dataset.code, pick.dataset.name));
      done(form);
    } else if (free) {
      const other = form.querySelector("[name=other_medications]");
      if (other) other.value = other.value.trim() ? `${other.value.trim()}, ${free.dataset.name}` : free.dataset.name;
      done(form);
    } else {
      remove.closest("li").remove();
      form.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();

// Nothing lost: typing is autosaved 800 ms after the last keystroke (not only when the field is left), and once
// more when the page is hidden or left (keepalive fetch, which outlives the page). Back/Forward never shows a
// page from the browser's memory: a restored page reloads from the server.
(function keepTyping() {
  const form = document.getElementById("step-form");
  if (!form || !form.getAttribute("hx-post")) return;
  let timer = null;
  let dirty = false;
  form.addEventListener("input", (event) => {
    const field = event.target;
    if (!field.name || field.type === "search" || field.type === "radio" || field.type === "checkbox") return;
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => form.dispatchEvent(new Event("change", { bubbles: true })), 800);
  });
  // A change autosaves at once; the pending keystroke save would only send the same answers again.
  form.addEventListener("change", () => window.clearTimeout(timer));
  form.addEventListener("htmx:afterRequest", (event) => {
    const fromForm = event.detail.elt === form || event.detail.elt.matches("button.resolve-conflict");
    if (fromForm && event.detail.successful) dirty = false;
  });
  function saveNow() {
    if (!dirty) return;
    dirty = false;
    window.clearTimeout(timer);
    const token = form.querySelector("[name=csrfmiddlewaretoken]");
    fetch(form.getAttribute("hx-post"), {
      method: "POST",
      body: new FormData(form),
      keepalive: true,
      credentials: "same-origin",
      headers: token ? { "X-CSRFToken": token.value } : {},
    }).catch(() => {});
  }
  window.addEventListener("pagehide", saveNow);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") saveNow(); });
})();

window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });
