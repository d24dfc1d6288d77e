// Keyward's only script. Every page works without it; it only makes pages kinder: copy
// buttons, the Share dialog (focus, Escape, a click outside), a warning when a chosen person's
// role gives less than the chosen permission, and a data source's "Specific" picker shown as
// soon as it is chosen. No inline script anywhere: this file is the whole of it.
"use strict";

// Copy buttons.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// The Share dialog: a <details> whose panel takes the focus when it opens, and closes on
// Escape or on a click outside it (the focus then goes back to its Share button).
function dialogFocus(details) {
  const target = details.querySelector("#share-error") || details.querySelector(".dialog input:not([type=hidden]), .dialog select, .dialog button");
  if (target) target.focus();
}

function closeDialog(details) {
  details.open = false;
  const summary = details.querySelector("summary");
  if (summary) summary.focus();
}

for (const details of document.querySelectorAll("details.share-dialog")) {
  details.addEventListener("toggle", () => { if (details.open) dialogFocus(details); });
  if (details.open) dialogFocus(details);
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const details of document.querySelectorAll("details.share-dialog[open]")) {
    event.preventDefault();
    closeDialog(details);
  }
});

document.addEventListener("click", (event) => {
  for (const details of document.querySelectorAll("details.share-dialog[open]")) {
    if (!details.contains(event.target)) details.open = false;
  }
});

// The warning before saving: people whose role caps them below the chosen permission.
const LEVELS = { none: 0, view: 1, edit: 2, full: 3 };

function updateShareWarning(form) {
  const warning = form.querySelector("#share-warning");
  if (!warning) return;
  const chosen = form.querySelector("input[name=level]:checked");
  const wanted = LEVELS[chosen ? chosen.value : "view"];
  const lines = [];
  for (const box of form.querySelectorAll("input[name=subject][data-cap]:checked")) {
    const cap = LEVELS[box.dataset.cap];
    if (cap >= wanted) continue;
    lines.push(cap === 0
      ? `${box.dataset.name} is a Viewer: viewers cannot use data sources.`
      : `${box.dataset.name} is a Viewer: they will get View only, not Edit.`);
  }
  warning.textContent = lines.join(" ");
  warning.hidden = lines.length === 0;
}

for (const form of document.querySelectorAll("form.share-form")) {
  form.addEventListener("change", () => updateShareWarning(form));
  updateShareWarning(form);
}

// A data source's Permissions: choosing "Specific Users/Teams" shows the picker at once.
const visibilityForm = document.getElementById("visibility-form");
const picker = document.getElementById("specific-picker");
if (visibilityForm && picker) {
  visibilityForm.addEventListener("change", (event) => {
    if (event.target.name !== "visibility") return;
    picker.hidden = event.target.value !== "specific";
  });
}

// The live checklist of the password rules beside a new password: each rule is ticked as soon
// as the typed password meets it (the same tests as the server's; whether a password is common
// only the server can say). A screen reader hears how many rules are still unmet.
function ruleMet(check, value) {
  const chars = [...value];
  if (check.startsWith("min:")) return chars.length >= Number(check.slice(4));
  switch (check) {
    case "upper": return /\p{Lu}/u.test(value);
    case "lower": return /\p{Ll}/u.test(value);
    case "digit": return /\p{N}/u.test(value);
    case "special": return chars.some((c) => !/[\p{L}\p{N}\s]/u.test(c));
    default: return null;
  }
}

for (const list of document.querySelectorAll("ul.password-rules")) {
  const form = list.closest("form");
  const field = form && form.querySelector("input[autocomplete=new-password]");
  const status = list.nextElementSibling && list.nextElementSibling.matches(".password-rules-status") ? list.nextElementSibling : null;
  if (!field) continue;
  const update = () => {
    let unmet = 0;
    for (const item of list.querySelectorAll("li[data-check]")) {
      const met = ruleMet(item.dataset.check, field.value);
      item.classList.toggle("met", met === true);
      item.classList.toggle("unmet", met === false && field.value !== "");
      if (met === false) unmet += 1;
    }
    if (status) status.textContent = field.value === "" ? "" : unmet === 0 ? "The password meets every rule that can be checked here." : `${unmet} password ${unmet === 1 ? "rule is" : "rules are"} not met yet.`;
  };
  field.addEventListener("input", update);
  update();
}

// A table that scrolls sideways in its box (on a phone) takes the keyboard's focus, so that
// it can be scrolled without a mouse; checked at load and whenever the window changes size.
function focusableScrollers() {
  for (const box of document.querySelectorAll("table, .table-box")) {
    const scrolls = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== "visible";
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.dataset.scrollFocus = "";
    } else if (!scrolls && box.dataset.scrollFocus !== undefined) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollFocus;
    }
  }
}
focusableScrollers();
window.addEventListener("resize", focusableScrollers);
