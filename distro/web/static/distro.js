// distro pages: copy buttons and the publish form with its upload progress bar.
"use strict";

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

function setupCopyButtons() {
  document.querySelectorAll("button.copy").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
      button.dataset.done = "1";
      button.classList.add("copied");
    });
  });
}

function showFieldError(form, field, message) {
  form.querySelectorAll(".error[data-for]").forEach((span) => { span.textContent = ""; });
  const span = form.querySelector(`.error[data-for="${field || "file"}"]`);
  if (span) { span.textContent = message; }
  const input = form.querySelector(`[name="${field}"]`);
  if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}

async function checkFields(form, data) {
  const body = new URLSearchParams();
  for (const name of ["product", "version", "kind", "applies_to", "notes"]) {
    body.append(name, data.get(name) || "");
  }
  body.append("filename", data.get("file") ? data.get("file").name : "");
  const answer = await fetch(form.dataset.check, {
    method: "POST", body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin",
  });
  return answer.json();
}

function upload(form, data) {
  const progress = form.querySelector("progress");
  const status = document.getElementById("upload-status");
  const result = document.getElementById("publish-result");
  form.querySelector(".progress").hidden = false;
  const request = new XMLHttpRequest();
  request.open("POST", form.dataset.api);
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) { return; }
    const percent = Math.floor((event.loaded / event.total) * 100);
    progress.value = percent;
    status.textContent = `${mib(event.loaded)} / ${mib(event.total)} MiB (${percent}%)`;
  });
  request.addEventListener("load", () => {
    const body = JSON.parse(request.responseText || "{}");
    if (request.status === 201) {
      progress.value = 100;
      status.textContent = status.textContent.replace(/\(\d+%\)/, "(100%)");
      result.textContent = `${body.product} ${body.version} ${body.kind}: sha256 ${body.sha256}`;
      result.dataset.packageId = body.id;
    } else {
      showFieldError(form, body.error.field, body.error.message);
    }
  });
  request.addEventListener("error", () => {
    result.textContent = "The upload was interrupted; nothing was published.";
  });
  request.send(data);
}

function setupPublishForm() {
  const form = document.getElementById("publish");
  if (!form) { return; }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (!form.reportValidity()) { return; }
    const size = data.get("file").size;
    if (size > Number(form.dataset.limit)) {
      showFieldError(form, "file", `The file is larger than the limit of ${form.dataset.limit} bytes.`);
      return;
    }
    const checked = await checkFields(form, data);
    if (!checked.ok) {
      showFieldError(form, checked.field, checked.message);
      return;
    }
    upload(form, data);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopyButtons();
  setupPublishForm();
});
