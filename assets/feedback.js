/* autopilot feedback widget: a floating "Feedback" button for any web page.
 *   <script src="http://HOST:PORT/autopilot/feedback.js" data-user="me@co"></script>
 * Posts {message, page, user} to /api/autopilot/feedback on the script's own origin.
 * window.AutopilotFeedback.open() / .close() / .submit([message]) -> Promise<boolean>.
 * No dependencies; user text only ever goes through textContent and value. */
(function () {
  "use strict";
  if (window.AutopilotFeedback) return;
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var endpoint = origin + "/api/autopilot/feedback";
  var user = (script && script.getAttribute("data-user")) || "";
  var LIMIT = 64 * 1024;
  var CSS =
    ".ap-fb-button{position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:8px 14px;" +
    "border:0;border-radius:18px;background:#1f6feb;color:#fff;font:14px/1.2 system-ui,sans-serif;" +
    "cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3)}" +
    ".ap-fb-button:focus-visible,.ap-fb-dialog button:focus-visible{outline:3px solid #f0b400}" +
    ".ap-fb-dialog{position:fixed;right:16px;bottom:64px;z-index:2147483001;width:min(360px,90vw);" +
    "padding:14px;border-radius:8px;background:#fff;color:#111;font:14px/1.4 system-ui,sans-serif;" +
    "box-shadow:0 4px 24px rgba(0,0,0,.35)}" +
    ".ap-fb-dialog[hidden]{display:none}" +
    ".ap-fb-dialog h2{margin:0 0 8px;font-size:16px}" +
    ".ap-fb-dialog textarea{box-sizing:border-box;width:100%;min-height:96px;font:inherit}" +
    ".ap-fb-actions{display:flex;gap:8px;justify-content:flex-end;margin-top:8px}" +
    ".ap-fb-status{min-height:1.4em;margin-top:6px}.ap-fb-status.ap-fb-error{color:#b00020}";
  var button, dialog, textarea, status, send;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function show(text, error) {
    status.textContent = text;
    status.className = "ap-fb-status" + (error ? " ap-fb-error" : "");
  }

  function build() {
    if (dialog) return;
    var style = el("style");
    style.textContent = CSS;
    document.head.appendChild(style);
    button = el("button", { type: "button", "class": "ap-fb-button", "aria-label": "Send feedback",
      "aria-haspopup": "dialog", "aria-expanded": "false" }, "Feedback");
    button.addEventListener("click", function () { if (dialog.hidden) open(); else close(); });
    dialog = el("form", { "class": "ap-fb-dialog", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "ap-fb-title", hidden: "" });
    dialog.appendChild(el("h2", { id: "ap-fb-title" }, "Send feedback"));
    var label = el("label", { "for": "ap-fb-message" }, "What should we know?");
    textarea = el("textarea", { id: "ap-fb-message", name: "message", required: "" });
    status = el("div", { "class": "ap-fb-status", role: "status", "aria-live": "polite" });
    var actions = el("div", { "class": "ap-fb-actions" });
    var cancel = el("button", { type: "button", "class": "ap-fb-cancel" }, "Cancel");
    send = el("button", { type: "submit", "class": "ap-fb-send" }, "Send");
    cancel.addEventListener("click", close);
    actions.appendChild(cancel);
    actions.appendChild(send);
    [label, textarea, status, actions].forEach(function (c) { dialog.appendChild(c); });
    dialog.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    dialog.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    document.body.appendChild(button);
    document.body.appendChild(dialog);
  }

  function open() {
    build();
    dialog.hidden = false;
    button.setAttribute("aria-expanded", "true");
    textarea.focus();
  }

  function close() {
    if (!dialog || dialog.hidden) return;
    dialog.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }

  function failure(code) {
    if (code === 413) return "That message is too long to send (at most 64 KiB).";
    if (code === 429) return "Too much feedback from here just now: please try again in a minute.";
    if (code === 404) return "Feedback is switched off on this server.";
    return "Sending failed (HTTP " + code + "). Please try again.";
  }

  function submit(message) {
    build();
    var text = message == null ? textarea.value : String(message);
    if (!text.trim()) {
      show("Please write a message first.", true);
      return Promise.resolve(false);
    }
    var body = JSON.stringify({ message: text, page: location.href, user: user || null });
    if (new Blob([body]).size > LIMIT) {
      show(failure(413), true);
      return Promise.resolve(false);
    }
    send.disabled = true;
    show("Sending…", false);
    return fetch(endpoint, { method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json" }, body: body })
      .then(function (r) {
        if (r.ok) {
          textarea.value = "";
          show("Thank you: your feedback was sent.", false);
          return true;
        }
        show(failure(r.status), true);
        return false;
      }, function () {
        show("Sending failed: the feedback server could not be reached.", true);
        return false;
      })
      .then(function (ok) { send.disabled = false; return ok; });
  }

  window.AutopilotFeedback = { open: open, close: close, submit: submit };
  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();
