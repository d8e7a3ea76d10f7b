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
  const names = ["product", "version", "kind", "applies_to", "notes", "defects", "modules", "severity", "cves"];
  for (const name of names) {
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
    } else if (request.status === 403 && body.error.code === "mfa_required" && !form.dataset.retried) {
      form.dataset.retried = "1";
      ensureChecked().then((ok) => { if (ok) { upload(form, data); } });
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

// ---- Second factor: security keys and passkeys (WebAuthn), and the in-place check ----

function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "===".slice((base64.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  bytes.forEach((b) => { text += String.fromCharCode(b); });
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function postJson(path, body) {
  const answer = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    throw new Error((data.error && data.error.message) || `HTTP ${answer.status}`);
  }
  return data;
}

async function registerKey(name) {
  const options = await postJson("/api/v1/mfa/webauthn/register/options");
  options.challenge = fromBase64url(options.challenge);
  options.user.id = fromBase64url(options.user.id);
  (options.excludeCredentials || []).forEach((c) => { c.id = fromBase64url(c.id); });
  const credential = await navigator.credentials.create({ publicKey: options });
  return postJson("/api/v1/mfa/webauthn/register", {
    name,
    credential: {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(credential.response.clientDataJSON),
        attestationObject: toBase64url(credential.response.attestationObject),
        transports: credential.response.getTransports ? credential.response.getTransports() : [],
      },
    },
  });
}

async function assertKey() {
  const options = await postJson("/api/v1/mfa/webauthn/assert/options");
  options.challenge = fromBase64url(options.challenge);
  (options.allowCredentials || []).forEach((c) => { c.id = fromBase64url(c.id); });
  const credential = await navigator.credentials.get({ publicKey: options });
  const response = credential.response;
  return postJson("/api/v1/mfa/webauthn/assert", {
    credential: {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
      },
    },
  });
}

function askForCode() {
  // A small dialog for the authenticator app's code (or a recovery code).
  return new Promise((resolve) => {
    const dialog = document.getElementById("check-dialog");
    const input = dialog.querySelector("input");
    input.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? input.value : null), { once: true });
  });
}

async function ensureChecked() {
  // True when the session may go on: no check is needed, or it was just given.
  const status = await fetch("/api/v1/mfa/status", { credentials: "same-origin" }).then((a) => a.json());
  if (!status.required || status.fresh) { return true; }
  if (status.factors.some((f) => f.kind === "webauthn")) {
    try {
      await assertKey();
      return true;
    } catch (error) {
      // fall back to a code, e.g. when the key is not at hand
    }
  }
  const code = await askForCode();
  if (!code) { return false; }
  try {
    await postJson("/api/v1/mfa/verify", { code });
    return true;
  } catch (error) {
    window.alert(error.message);
    return false;
  }
}

function setupCheckedForms() {
  document.querySelectorAll("form[data-needs-check]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.checked === "1") { return; }
      event.preventDefault();
      if (await ensureChecked()) {
        form.dataset.checked = "1";
        form.requestSubmit(event.submitter);
      }
    });
  });
}

function setupWebauthnButtons() {
  document.querySelectorAll("[data-webauthn]").forEach((button) => {
    const box = button.closest("section");
    const error = box.querySelector("[data-webauthn-error]");
    button.addEventListener("click", async () => {
      error.textContent = "";
      try {
        if (button.dataset.webauthn === "register") {
          const name = document.getElementById("key-name").value;
          const done = await registerKey(name);
          const codes = box.querySelector("[data-recovery-codes]");
          if (done.recovery_codes.length) {
            codes.querySelector("pre").textContent = done.recovery_codes.join("\n");
            codes.hidden = false;
          } else {
            window.location = box.dataset.next || "/account";
          }
        } else {
          await assertKey();
          window.location = box.dataset.next || "/";
        }
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopyButtons();
  setupPublishForm();
  setupCheckedForms();
  setupWebauthnButtons();
});
