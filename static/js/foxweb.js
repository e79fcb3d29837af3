// FoxWeb's small enhancements. Every page works without this file; it adds drag and drop,
// paste, uploads with progress, one-click presets, image counting and copying.
(function () {
  "use strict";

  function describeForm() { return document.getElementById("describe-form"); }

  // --- Uploading images as soon as they are chosen ----------------------------------------------
  // Each file gets a placeholder in the list; htmx sends it (the list's hx-* attributes say how)
  // and swaps in the server's list item. Any other answer becomes a plain message in its place.
  // A folder of hundreds of photos goes up a few at a time: the server prepares each one it gets.
  var UPLOADS_AT_ONCE = 3;
  var waiting = [], sending = 0;

  function uploadFiles(files) {
    var zone = document.getElementById("dropzone");
    var list = document.getElementById("staged");
    if (!zone || !list || !window.htmx) return;
    Array.prototype.forEach.call(files, function (file) {
      var item = stagedItem("loading", file.webkitRelativePath || file.name || "Pasted image");
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + (file.name || "the pasted image"));
      item.querySelector(".staged-text").appendChild(bar);
      list.appendChild(item);
      waiting.push({ file: file, item: item, url: zone.dataset.uploadUrl });
    });
    sendNext();
  }

  function sendNext() {
    while (sending < UPLOADS_AT_ONCE && waiting.length) {
      var next = waiting.shift();
      if (!next.item.isConnected) continue;  // removed while waiting
      sending += 1;
      var named = next.file.name ? next.file : new File([next.file], "pasted-image.png", { type: next.file.type });
      window.htmx.ajax("POST", next.url, { source: next.item, target: next.item, swap: "outerHTML", values: { file: named } })
        .catch(function () {})  // failures are shown in the list (below), not thrown
        .then(function () { sending -= 1; sendNext(); });
    }
  }

  // Images only, from a folder or a drop: by type, or by name where the browser knows no type (HEIC).
  var IMAGE_NAME = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif)$/i;
  function imagesOnly(files) {
    return Array.prototype.filter.call(files, function (file) {
      return file.type.indexOf("image/") === 0 || IMAGE_NAME.test(file.name || "");
    });
  }

  // A folder's images in the order people see them in it (the browser may hand them out in any order).
  function byPath(files) {
    return files.slice().sort(function (a, b) {
      var left = a.webkitRelativePath || a.name, right = b.webkitRelativePath || b.name;
      return left < right ? -1 : left > right ? 1 : 0;
    });
  }

  // A dropped folder arrives as directory entries: read them all (the browser hands them out in pages).
  function filesFromDrop(dataTransfer, done) {
    var entries = Array.prototype.map.call(dataTransfer.items || [], function (item) {
      return item.webkitGetAsEntry && item.webkitGetAsEntry();
    }).filter(Boolean);
    if (!entries.some(function (entry) { return entry.isDirectory; })) { done(dataTransfer.files); return; }
    var found = [], pending = 0;
    function walk(entry, path) {
      pending += 1;
      if (entry.isFile) {
        entry.file(function (file) {
          try { Object.defineProperty(file, "webkitRelativePath", { value: path + file.name }); } catch (e) {}
          found.push(file); finish();
        }, finish);
      } else {
        var reader = entry.createReader();
        (function readPage() {
          reader.readEntries(function (page) {
            if (!page.length) { finish(); return; }
            page.forEach(function (child) { walk(child, path + entry.name + "/"); });
            readPage();
          }, finish);
        })();
      }
    }
    function finish() { pending -= 1; if (pending === 0) done(found); }
    entries.forEach(function (entry) { walk(entry, ""); });
  }

  function stagedItem(state, fileName) {
    var item = document.createElement("li");
    item.className = "staged-item " + state;
    var text = document.createElement("span");
    text.className = "staged-text";
    var name = document.createElement("span");
    name.className = "staged-name"; name.textContent = fileName;
    text.appendChild(name); item.appendChild(text);
    return item;
  }

  function isUpload(element) { return element && element.matches && element.matches("#staged > .loading"); }

  function failUpload(item, message) {
    var failed = stagedItem("failed", item.querySelector(".staged-name").textContent);
    var error = document.createElement("span");
    error.className = "error"; error.setAttribute("role", "alert"); error.textContent = message;
    failed.querySelector(".staged-text").appendChild(error);
    var dismiss = document.createElement("button");
    dismiss.type = "button"; dismiss.className = "remove"; dismiss.textContent = "×"; dismiss.title = "Dismiss";
    dismiss.setAttribute("data-dismiss", ""); dismiss.setAttribute("aria-label", "Dismiss this message");
    failed.appendChild(dismiss);
    item.replaceWith(failed);
  }

  function uploadProblem(status) {
    if (status === 413) return "The file is too large to send. Make it smaller and try again.";
    if (status === 403) return "FoxWeb refused the upload. Reload the page and try again.";
    if (status >= 500) return "Something went wrong on our side. Please try again.";
    return "The upload did not go through. Please try again.";
  }

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = isUpload(event.target) && event.target.querySelector("progress");
    if (bar && event.detail.lengthComputable) {
      bar.value = Math.max(bar.value, Math.round(100 * event.detail.loaded / event.detail.total));
    }
  });
  // Only the expected list item may land in the list: never a login page or an error page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isUpload(event.detail.elt) || !event.detail.shouldSwap) return;
    if (!/^\s*<li class="staged-item[ "]/.test(event.detail.serverResponse)) {
      event.detail.shouldSwap = false;
      failUpload(event.detail.elt, uploadProblem(event.detail.xhr.status));
    }
  });

  // --- Counting images against the chosen model's limit ---------------------------------------
  // The same sentences as vision.forms.image_count, read from the list whenever it changes.
  function plural(count, word, words) { return count + " " + (count === 1 ? word : words); }

  function updateCount() {
    var form = describeForm();
    var out = document.getElementById("image-count");
    if (!form || !out) return;
    var ready = form.querySelectorAll('#staged input[name="uploads"]').length;
    var uploading = form.querySelectorAll("#staged .loading").length;
    var addresses = (form.querySelector('textarea[name="urls"]').value || "").split("\n")
      .filter(function (line) { return line.trim() !== ""; }).length;
    var total = ready + uploading + addresses;
    // Describe waits for uploads still on their way, so no image is silently left out.
    form.querySelectorAll("button[name=describe]").forEach(function (button) { button.disabled = uploading > 0; });
    var submit = document.getElementById("describe-submit");
    var label = uploading ? "Uploading " + plural(uploading, "image…", "images…") : "Describe";
    if (submit && submit.textContent !== label) submit.textContent = label;

    defaultMode(total);
    var each = form.querySelector('input[name="mode"][value="each"]:checked');
    var text = "", over = false;
    if (total) {
      text = plural(ready, "image", "images") + " ready";
      if (uploading) text += ", " + uploading + " uploading";
      if (addresses) text += ", " + plural(addresses, "address", "addresses") + " to fetch";
      text += ".";
      var model = form.querySelector('input[name="model"]:checked');
      if (each) {
        var batchLimit = parseInt(document.getElementById("mode-choice").dataset.batchLimit, 10);
        over = total > batchLimit;
        text += over ? " A batch takes up to " + batchLimit + " images: remove " + (total - batchLimit) + "." :
          " One description for each image (up to " + batchLimit + ").";
      } else if (model) {
        var limit = parseInt(model.dataset.maxImages, 10);
        var name = model.parentElement.querySelector(".model-name").textContent;
        var takes = name + " takes " + (limit === 1 ? "one image" : "up to " + limit + " images") + " per description";
        over = total > limit;
        if (over) {
          var other = Array.prototype.some.call(form.querySelectorAll('input[name="model"]'), function (input) {
            return parseInt(input.dataset.maxImages, 10) >= total;
          });
          text += " " + takes + ": remove " + (total - limit) + (other ? ", or pick a model that takes more." : ".");
        } else {
          text += " " + takes + ".";
        }
      }
    }
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("over", over);
    var removeAll = document.getElementById("remove-all");
    if (removeAll) removeAll.hidden = !over && total < 2;  // one image has its own ×
  }

  // --- Events, delegated so they survive htmx swaps -------------------------------------------
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches('#describe-form input[name="files"], #folder-input')) {
      uploadFiles(target.id === "folder-input" ? byPath(imagesOnly(target.files)) : target.files);
      target.value = "";
    }
    if (target.matches('#describe-form input[name="zip_file"], #describe-form input[name="url_file"]')) {
      updateCount();  // a ZIP or a list is described one image at a time (defaultMode)
    }
    if (target.matches('#describe-form input[name="mode"]')) { modeTouched = true; updateCount(); }
    if (target.matches('#describe-form input[name="model"]')) updateCount();
    if (target.matches('#describe-form input[name="purpose"]')) showPurposeDetail();
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches('#describe-form textarea[name="urls"]')) updateCount();
    var counted = event.target.dataset && event.target.dataset.count && document.querySelector(event.target.dataset.count);
    if (counted) {
      var length = event.target.value.trim().length;
      counted.textContent = length + (length === 1 ? " character" : " characters") +
        (length > 250 ? ": too long for alt text" : length > 125 ? ": long for alt text, consider a long description" : " (up to 125 is best; more is allowed)");
    }
  });

  // --- One description each, and alt text's purpose ------------------------------------------
  var modeTouched = false;
  function chooseMode(value) {
    var radio = document.querySelector('#describe-form input[name="mode"][value="' + value + '"]');
    if (radio && !radio.checked) { radio.checked = true; updateCount(); saveDraft(); }
  }
  // A ZIP or a list (CSV) is always described one image at a time (the server treats it so too).
  // Until the person chooses, several images with a per-image preset (alt text, product) get one each.
  function bulkFileChosen() {
    return Array.prototype.some.call(
      document.querySelectorAll('#describe-form input[name="zip_file"], #describe-form input[name="url_file"]'),
      function (input) { return input.files && input.files.length > 0; });
  }
  function defaultMode(total) {
    var choice = document.getElementById("mode-choice");
    var preset = document.querySelector('#describe-form input[name="preset"]');
    if (choice && bulkFileChosen()) { chooseMode("each"); return; }
    if (!choice || modeTouched || !preset) return;
    var perImage = (choice.dataset.perImage || "").split(" ").indexOf(preset.value) >= 0;
    chooseMode(total > 1 && perImage ? "each" : "together");
  }
  function showPurposeDetail() {
    var chosen = document.querySelector('#describe-form input[name="purpose"]:checked');
    var detail = document.getElementById("purpose-detail");
    if (detail) detail.hidden = !chosen || chosen.value !== "link";
  }
  document.addEventListener("DOMContentLoaded", showPurposeDetail);
  document.addEventListener("htmx:afterSwap", showPurposeDetail);

  // A preset fills in its prompt (alt text shows its own options instead); returns where focus belongs.
  function applyPreset(preset) {
    var form = describeForm();
    var prompt = form.querySelector('textarea[name="prompt"]');
    var isAlt = preset.value === "alt-text";
    prompt.value = preset.dataset.prompt;
    form.querySelector('input[name="preset"]').value = preset.value;
    form.querySelectorAll("button[name=choose_preset]").forEach(function (button) {
      button.setAttribute("aria-pressed", button === preset ? "true" : "false");
    });
    form.querySelector(".prompt-field").hidden = isAlt;
    var options = document.getElementById("alt-options");
    if (options) options.hidden = !isAlt;
    updateCount();
    return isAlt ? form.querySelector('input[name="purpose"]:checked') || prompt : prompt;
  }

  // --- What was typed survives a reload, or a session that ended in another tab -----------------
  // The describe form's fields are kept in this tab's sessionStorage, under the user's own key
  // (data-draft-key), as they change; put back when the page loads (not for "Describe again",
  // which brings its own settings); dropped once the description is asked for, and on logging out.
  var DRAFT_SKIP = ["csrfmiddlewaretoken", "uploads", "describe", "remove_all", "remove_upload", "choose_preset"];
  var draftDone = false, restoring = false;
  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && DRAFT_SKIP.indexOf(field.name) < 0 &&
        ["file", "submit", "button"].indexOf(field.type) < 0 && (field.type !== "hidden" || field.name === "preset");
    });
  }
  function saveDraft() {
    var form = describeForm();
    if (draftDone || restoring || !form || !form.dataset.draftKey) return;
    var draft = { modeTouched: modeTouched, fields: {} };
    draftFields(form).forEach(function (field) {
      if (field.type === "radio") { if (field.checked) draft.fields[field.name] = field.value; }
      else draft.fields[field.name] = field.type === "checkbox" ? field.checked : field.value;
    });
    try { sessionStorage.setItem(form.dataset.draftKey, JSON.stringify(draft)); } catch (e) {}
  }
  function restoreDraft() {
    var form = describeForm();
    if (!form || !form.dataset.draftKey || /[?&]again=/.test(location.search)) return;
    var draft;
    try { draft = JSON.parse(sessionStorage.getItem(form.dataset.draftKey) || "null"); } catch (e) { return; }
    if (!draft || !draft.fields) return;
    restoring = true;
    var preset = form.querySelector('button[name=choose_preset][value="' + draft.fields.preset + '"]');
    if (preset) applyPreset(preset);
    draftFields(form).forEach(function (field) {
      var value = draft.fields[field.name];
      if (value === undefined) return;
      if (field.type === "radio") field.checked = field.value === value;
      else if (field.type === "checkbox") field.checked = value === true;
      else if (field.tagName !== "SELECT" || field.querySelector('option[value="' + CSS.escape(value) + '"]')) {
        field.value = value;
        var folded = field.closest("details");
        if (folded && value !== field.defaultValue) folded.open = true;  // what was typed is in sight
      }
    });
    modeTouched = draft.modeTouched === true;
    restoring = false;
    showPurposeDetail();
  }
  document.addEventListener("input", saveDraft);
  document.addEventListener("change", saveDraft);
  // Asked for: the answer (or the batch's confirm step) is next, and the form starts afresh. A
  // redirect to the login page is not that: the text waits for the person to log in again.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var form = describeForm();
    var next = event.detail.xhr.getResponseHeader("HX-Redirect");
    if (event.detail.elt !== form || !next || next.indexOf(form.dataset.loginUrl) === 0) return;
    draftDone = true;
    try { sessionStorage.removeItem(form.dataset.draftKey); } catch (e) {}
  });
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("[data-clears-drafts]")) return;
    try { sessionStorage.clear(); } catch (e) {}  // whoever uses this browser next sees none of it
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
    var preset = event.target.closest("#describe-form button[name=choose_preset]");
    if (preset) {
      event.preventDefault();
      applyPreset(preset).focus();
      return;
    }
    var confirmable = event.target.closest("[data-confirm]");
    if (confirmable && !window.confirm(confirmable.dataset.confirm)) { event.preventDefault(); return; }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var refocus = focusAfterRemoving(dismiss);
      dismiss.closest("li").remove();
      refocus();
      return;
    }
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
    if (event.dataTransfer && event.dataTransfer.files.length) {
      filesFromDrop(event.dataTransfer, function (files) {
        var images = byPath(imagesOnly(files));
        uploadFiles(images.length ? images : files);
      });
    }
  });
  document.addEventListener("paste", function (event) {
    if (!document.getElementById("dropzone") || !event.clipboardData) return;
    var files = Array.prototype.filter.call(event.clipboardData.files || [], function (file) {
      return file.type.indexOf("image/") === 0;
    });
    if (files.length) { event.preventDefault(); uploadFiles(files); }
  });

  // Whatever changes the list (an upload, a removal, a failure, a new form), the count follows.
  new MutationObserver(updateCount).observe(document.documentElement, { childList: true, subtree: true });

  // --- Keyboard focus stays where the person was after an htmx action ------------------------
  // When an action replaces the control that had focus (Approve, Reject, Save on a result), focus
  // goes to the new content's [data-focus-after-swap] instead of falling back to <body>.
  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var spot = event.target.matches && (event.target.matches("[data-focus-after-swap]") ? event.target :
      event.target.querySelector("[data-focus-after-swap]"));
    if (spot && event.detail.requestConfig && event.detail.requestConfig.verb === "post" && focusLost()) spot.focus();
  });
  // Removing a staged image (or a failed upload's message) moves focus to the next image's ×,
  // else the one before, else the "Choose images…" picker.
  function focusAfterRemoving(button) {
    var buttons = Array.prototype.slice.call(document.querySelectorAll("#staged .remove"));
    var at = buttons.indexOf(button);
    var spot = buttons[at + 1] || buttons[at - 1] || document.querySelector('#describe-form input[name="files"]');
    return function () { if (spot && spot.isConnected && focusLost()) spot.focus(); };
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var button = event.detail.requestConfig && event.detail.requestConfig.elt;  // detail.elt is the target
    if (!event.detail.shouldSwap || !button || !button.matches || !button.matches("#staged .remove")) return;
    setTimeout(focusAfterRemoving(button));  // htmx swaps right after this event
  });

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
    if (isUpload(event.detail.elt)) { failUpload(event.detail.elt, uploadProblem(event.detail.xhr.status)); return; }
    var messages = document.querySelector(".messages");
    if (messages) {
      messages.innerHTML = '<p class="message error" data-passing>Something went wrong on our side (' +
        event.detail.xhr.status + "). Nothing you entered was lost; please try again.</p>";
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (isUpload(event.detail.elt)) {
      failUpload(event.detail.elt, "The upload failed: FoxWeb could not be reached. Check your connection and try again.");
      return;
    }
    var messages = document.querySelector(".messages");
    if (messages) messages.innerHTML = '<p class="message error" data-passing>FoxWeb could not be reached. Check your connection and try again.</p>';
  });
  // A passing problem is taken back as soon as a request gets through again (the next poll, say).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) return;
    document.querySelectorAll(".messages [data-passing]").forEach(function (node) { node.remove(); });
  });

  // Elapsed time on running tasks ticks every second and only ever goes forwards: each card brings
  // the server's count, carried on by this page's own clock (never compared with the server's),
  // and a fresher card never shows less than the page already showed for that task.
  var elapsedShown = {};
  function tickElapsed() {
    var now = performance.now();
    document.querySelectorAll("[data-elapsed]").forEach(function (node) {
      if (node.elapsedFrom === undefined) node.elapsedFrom = now;
      var key = node.dataset.elapsedKey;
      var seconds = Math.max(parseFloat(node.dataset.elapsed) + (now - node.elapsedFrom) / 1000, elapsedShown[key] || 0);
      elapsedShown[key] = seconds;
      var text = seconds < 60 ? Math.floor(seconds) + " s" :
        Math.floor(seconds / 60) + " min " + Math.floor(seconds % 60) + " s";
      if (node.textContent !== text) node.textContent = text;
    });
  }
  setInterval(tickElapsed, 1000);
  document.addEventListener("htmx:afterSwap", tickElapsed);
  document.addEventListener("DOMContentLoaded", tickElapsed);

  // When the answer arrives, keyboard and screen-reader users are taken to it, once, unless they
  // have moved on to something else on the page meanwhile.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "task-status" || event.detail.requestConfig.verb !== "get") return;
    var answer = event.target.querySelector("[data-focus-on-arrival]");
    var active = document.activeElement;
    if (answer && (!active || active === document.body || active.id === "main")) answer.focus();
  });

  restoreDraft();  // this deferred script runs once the page is parsed, before the first count
  document.addEventListener("DOMContentLoaded", updateCount);
})();
