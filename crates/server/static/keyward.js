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
