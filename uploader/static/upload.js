// The account page: sign with GET /sign_s3/, POST the file straight to S3 with progress, show the result.
// Plain JavaScript, no build step. Every failure ends in a message in #status.
(function () {
  "use strict";

  var input = document.getElementById("file_input");
  var statusLine = document.getElementById("status");
  var preview = document.getElementById("preview");
  var avatarUrl = document.getElementById("avatar-url");
  var progress = document.getElementById("progress");
  var submit = document.getElementById("submit");
  var maxSize = document.body.dataset.maxSize;
  var current = null;
  var generation = 0;

  function setStatus(text, kind) {
    statusLine.textContent = text;
    statusLine.className = kind || "";
  }

  function finish() {
    current = null;
    submit.disabled = false;
    progress.hidden = true;
  }

  function fail(text) {
    setStatus(text, "error");
    finish();
  }

  function s3Error(xhr) {
    var code = "", message = "";
    try {
      var xml = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
      var codeNode = xml.getElementsByTagName("Code")[0];
      var messageNode = xml.getElementsByTagName("Message")[0];
      code = codeNode ? codeNode.textContent : "";
      message = messageNode ? messageNode.textContent : "";
    } catch (ignored) { /* not XML: fall back to the status line */ }
    return { code: code, message: message };
  }

  function describeRefusal(file, xhr) {
    var error = s3Error(xhr);
    if (error.code === "EntityTooLarge") {
      return "S3 refused " + file.name + ": the file is too large; the limit is " + maxSize + ".";
    }
    if (error.code === "EntityTooSmall") {
      return "S3 refused " + file.name + ": the file is empty.";
    }
    var detail = error.message || xhr.statusText || "no reason given";
    return "S3 refused the upload of " + file.name + ": " + detail +
      " (" + (error.code ? error.code + ", " : "") + "HTTP " + xhr.status + ").";
  }

  function upload(file, signed) {
    var form = new FormData();
    Object.keys(signed.data.fields).forEach(function (name) {
      form.append(name, signed.data.fields[name]);
    });
    form.append("file", file);

    var xhr = new XMLHttpRequest();
    current = xhr;
    xhr.open("POST", signed.data.url);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        var percent = Math.round((event.loaded / event.total) * 100);
        progress.value = percent;
        setStatus("Uploading " + file.name + "… " + percent + "%");
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr !== current) { return; }
      if (xhr.status === 200 || xhr.status === 204 || xhr.status === 201) {
        preview.src = signed.url;
        avatarUrl.value = signed.url;
        progress.value = 100;
        setStatus("Uploaded " + file.name + ". Submit the form to save it in your profile.", "ok");
        finish();
      } else {
        fail(describeRefusal(file, xhr));
      }
    });
    xhr.addEventListener("error", function () {
      if (xhr !== current) { return; }
      fail("The upload of " + file.name + " failed: S3 at " + new URL(signed.data.url).origin +
        " could not be reached, or it does not allow uploads from this page (CORS).");
    });
    xhr.addEventListener("abort", function () {
      if (xhr === current) { fail("The upload of " + file.name + " was cancelled."); }
    });
    xhr.send(form);
  }

  function sign(file) {
    var query = new URLSearchParams({
      file_name: file.name,
      file_type: file.type || "application/octet-stream",
      file_size: String(file.size)
    });
    return fetch("/sign_s3/?" + query.toString(), { credentials: "same-origin" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error("Cannot upload " + file.name + ": " + (body.error || "the uploader answered HTTP " + response.status) + ".");
        }
        if (!body.data || !body.data.url || !body.data.fields || !body.url) {
          throw new Error("Cannot upload " + file.name + ": the uploader's answer was not understood.");
        }
        return body;
      });
    }, function () {
      throw new Error("Cannot upload " + file.name + ": the uploader could not be reached. Please try again.");
    });
  }

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (current) {
      var previous = current;
      current = null;
      previous.abort();
    }
    if (!file) {
      generation++;
      finish();
      setStatus("Please select a file");
      return;
    }
    var mine = ++generation;
    submit.disabled = true;
    progress.value = 0;
    progress.hidden = false;
    setStatus("Preparing the upload of " + file.name + "…");
    sign(file).then(function (signed) {
      if (mine === generation) { upload(file, signed); }
    }, function (error) {
      if (mine === generation) { fail(error.message); }
    });
  });

  preview.addEventListener("error", function () {
    if (preview.getAttribute("src") === preview.dataset.defaultSrc) { return; }
    setStatus("The image was uploaded, but it could not be shown from " + preview.src.split("?")[0] +
      " (is the S3 endpoint reachable from this browser?).", "error");
  });
})();
