// FoxWeb's small enhancements. Every page works without this file; it adds drag and drop,
// paste, uploads with progress, one-click presets, image counting and copying.
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function describeForm() { return document.getElementById("describe-form"); }

  // --- Uploading images as soon as they are chosen -----------------------------------------
  function uploadFiles(files) {
    var zone = document.getElementById("dropzone");
    var list = document.getElementById("staged");
    if (!zone || !list) return;
    Array.prototype.forEach.call(files, function (file) {
      var item = document.createElement("li");
      item.className = "staged-item loading";
      var text = document.createElement("span");
      text.className = "staged-text";
      var name = document.createElement("span");
      name.className = "staged-name";
      name.textContent = file.name || "Pasted image";
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + name.textContent);
      text.appendChild(name); text.appendChild(bar); item.appendChild(text);
      list.appendChild(item);

      var body = new FormData();
      body.append("file", file, file.name || "pasted-image.png");
      var request = new XMLHttpRequest();
      request.open("POST", zone.dataset.uploadUrl);
      request.setRequestHeader("X-CSRFToken", csrfToken());
      request.setRequestHeader("HX-Request", "true");
      updateCount();
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) bar.value = Math.round(100 * event.loaded / event.total);
      };
      request.onload = function () {
        if (request.status === 200 || request.status === 422) {
          var holder = document.createElement("ul");
          holder.innerHTML = request.responseText.trim();
          var fresh = holder.firstElementChild;
          item.replaceWith(fresh);
          if (window.htmx) window.htmx.process(fresh);
        } else {
          showFailure(item, name.textContent, "The upload failed (" + request.status + "). Please try again.");
        }
        updateCount();
      };
      request.onerror = function () {
        showFailure(item, name.textContent, "The upload failed: the connection was lost. Please try again.");
        updateCount();
      };
      request.send(body);
    });
  }

  function showFailure(item, fileName, message) {
    item.className = "staged-item failed";
    item.setAttribute("role", "alert");
    item.innerHTML = "";
    var text = document.createElement("span");
    text.className = "staged-text";
    var name = document.createElement("span");
    name.className = "staged-name"; name.textContent = fileName;
    var error = document.createElement("span");
    error.className = "error"; error.textContent = message;
    text.appendChild(name); text.appendChild(error); item.appendChild(text);
    var dismiss = document.createElement("button");
    dismiss.type = "button"; dismiss.className = "remove"; dismiss.textContent = "×";
    dismiss.setAttribute("data-dismiss", ""); dismiss.setAttribute("aria-label", "Dismiss this message");
    item.appendChild(dismiss);
  }

  // --- Counting images against the chosen model's limit ---------------------------------------
  function updateCount() {
    var form = describeForm();
    var out = document.getElementById("image-count");
    if (!form || !out) return;
    var files = form.querySelectorAll('#staged input[name="uploads"]').length;
    var loading = form.querySelectorAll("#staged .loading").length;
    var urls = (form.querySelector('textarea[name="urls"]').value || "").split("\n")
      .filter(function (line) { return line.trim() !== ""; }).length;
    var total = files + loading + urls;
    // Describe waits for uploads still on their way, so no image is silently left out.
    form.querySelectorAll("button[name=describe]").forEach(function (button) { button.disabled = loading > 0; });
    var submit = document.getElementById("describe-submit");
    if (submit) {
      submit.textContent = loading > 0 ? "Uploading " + loading + (loading === 1 ? " image…" : " images…") : "Describe";
    }
    var model = form.querySelector('input[name="model"]:checked');
    var limit = model ? parseInt(model.dataset.maxImages, 10) : 10;
    var label = model ? model.parentElement.querySelector(".model-name").textContent : "";
    if (total === 0) { out.textContent = ""; out.classList.remove("over"); return; }
    var text = total + (total === 1 ? " image" : " images");
    if (total > limit) {
      text += ": " + label + " takes at most " + limit + (limit === 1 ? " image" : " images") +
        ". Remove some, or pick another model.";
      out.classList.add("over");
    } else {
      text += " ready (" + label + " takes up to " + limit + ").";
      out.classList.remove("over");
    }
    out.textContent = text;
  }

  // --- Events, delegated so they survive htmx swaps -------------------------------------------
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches('#describe-form input[type="file"]')) {
      uploadFiles(target.files);
      target.value = "";
    }
    if (target.matches('#describe-form input[name="model"]')) updateCount();
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches('#describe-form textarea[name="urls"]')) updateCount();
  });

  // Enter in a one-line field of the describe form presses Describe once it is ready, never "Remove"
  // or a preset (the form's first buttons); on a checkbox anywhere else it submits nothing.
  var ENTER_FIELDS = "input:not([type=file]):not([type=submit]):not([type=button]):not([type=reset])";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.defaultPrevented || !event.target.matches(ENTER_FIELDS)) return;
    var form = event.target.form;
    if (form && form.id === "describe-form") {
      event.preventDefault();
      var describe = document.getElementById("describe-submit");
      if (describe && !describe.disabled) describe.click();
    } else if (event.target.type === "checkbox") {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var preset = event.target.closest("#describe-form button[name=preset]");
    if (preset) {
      event.preventDefault();
      var prompt = describeForm().querySelector('textarea[name="prompt"]');
      prompt.value = preset.dataset.prompt;
      describeForm().querySelectorAll("button[name=preset]").forEach(function (button) {
        button.setAttribute("aria-pressed", button === preset ? "true" : "false");
      });
      prompt.focus();
      return;
    }
    var confirmable = event.target.closest("[data-confirm]");
    if (confirmable && !window.confirm(confirmable.dataset.confirm)) { event.preventDefault(); return; }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) { dismiss.closest("li").remove(); updateCount(); return; }
    var copy = event.target.closest("[data-copy-text], [data-copy-from]");
    if (copy) {
      // Answers are copied as the text people read, not the Markdown behind it.
      var source = copy.dataset.copyFrom && document.querySelector(copy.dataset.copyFrom);
      var text = source ? source.innerText.trim() : copy.dataset.copyText;
      navigator.clipboard.writeText(text).then(function () {
        var before = copy.textContent;
        copy.textContent = "Copied ✓";
        copy.classList.add("copied");
        setTimeout(function () { copy.textContent = before; copy.classList.remove("copied"); }, 2000);
      }, function () {
        copy.textContent = "Select the text to copy it";
      });
    }
  });

  document.addEventListener("dragover", function (event) {
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = document.getElementById("dropzone");
    if (zone && (event.target === zone || !zone.contains(event.relatedTarget))) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) uploadFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    if (!document.getElementById("dropzone") || !event.clipboardData) return;
    var files = Array.prototype.filter.call(event.clipboardData.files || [], function (file) {
      return file.type.indexOf("image/") === 0;
    });
    if (files.length) { event.preventDefault(); uploadFiles(files); }
  });

  document.addEventListener("htmx:afterSwap", updateCount);

  // After "Try again", focus goes to the refreshed status, not the top of the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "task-status" || event.detail.requestConfig.verb !== "post") return;
    var heading = event.target.querySelector("h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });

  // After a form comes back with mistakes, focus goes to the first one, not the top of the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form")) return;
    var first = form.querySelector(".has-error input:not([type=hidden]), .has-error textarea, .has-error select, " +
      ".dropzone.has-error input[type=file], [data-error-summary]");
    if (first) { first.focus(); if (first.scrollIntoView) first.scrollIntoView({ block: "center" }); }
  });

  // Screen readers hear a task's status when it changes, not at every poll.
  document.addEventListener("htmx:afterSwap", function (event) {
    var card = event.target.querySelector && event.target.querySelector("[data-announce]");
    var announcer = document.getElementById("status-announcer");
    if (card && announcer && announcer.textContent !== card.dataset.announce) {
      announcer.textContent = card.dataset.announce;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var messages = document.querySelector(".messages");
    if (messages) {
      messages.innerHTML = '<p class="message error">Something went wrong on our side (' +
        event.detail.xhr.status + "). Nothing you entered was lost; please try again.</p>";
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var messages = document.querySelector(".messages");
    if (messages) messages.innerHTML = '<p class="message error">FoxWeb could not be reached. Check your connection and try again.</p>';
  });

  // Elapsed time on running tasks ticks every second between polls.
  setInterval(function () {
    document.querySelectorAll("[data-elapsed-since]").forEach(function (node) {
      var seconds = Date.now() / 1000 - parseInt(node.dataset.elapsedSince, 10);
      if (seconds < 0) return;
      node.textContent = seconds < 60 ? seconds.toFixed(0) + " s" :
        Math.floor(seconds / 60) + " min " + Math.floor(seconds % 60) + " s";
    });
  }, 1000);

  document.addEventListener("DOMContentLoaded", updateCount);
})();
