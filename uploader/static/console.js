// The console's few behaviours, on top of server-rendered pages (no build step, no inline script):
// the copy button of a share link, "select all", uploads straight to S3 with presigned requests (a PUT,
// or a multipart upload in parts for large files; a progress bar each), and live updates of a prefix page
// from the gateway's change feed (the uploader long-polls it; the table is fetched again when it moved).
(function () {
  "use strict";

  var body = document.body;
  var csrf = body.dataset.csrfToken;

  // -- copy a share link ------------------------------------------------------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      function done() { button.textContent = "Copied"; }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          input.select(); document.execCommand("copy"); done();
        });
      } else {
        input.select(); document.execCommand("copy"); done();
      }
    });
  });

  // -- select all -----------------------------------------------------------------------------------------
  document.addEventListener("change", function (event) {
    if (event.target.id !== "select-all") { return; }
    document.querySelectorAll("#entries input[name=key]").forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  // -- the listing, fetched again -------------------------------------------------------------------------
  var listing = document.getElementById("listing");
  var refreshes = 0;

  function refreshListing() {
    if (!listing) { return Promise.resolve(); }
    return fetch(listing.dataset.url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      var checked = {};
      listing.querySelectorAll("input[name=key]:checked").forEach(function (box) { checked[box.value] = true; });
      var parsed = new DOMParser().parseFromString(html, "text/html");
      listing.replaceChildren.apply(listing, Array.prototype.slice.call(parsed.body.childNodes));
      listing.querySelectorAll("input[name=key]").forEach(function (box) { box.checked = !!checked[box.value]; });
      refreshes += 1;
      listing.dataset.refreshes = String(refreshes);
    });
  }

  // -- live updates ---------------------------------------------------------------------------------------
  var liveBadge = document.getElementById("live");

  function follow() {
    var url = body.dataset.changesUrl;
    if (!url || !listing) { return; }
    var boot = body.dataset.feedBoot, seq = body.dataset.feedSeq;
    function poll() {
      var query = new URLSearchParams({ after: seq, boot: boot, pref: body.dataset.pref || "" });
      fetch(url + "?" + query.toString(), { credentials: "same-origin" }).then(function (response) {
        if (response.status === 404) { throw new Error("no feed"); }
        if (!response.ok) { return null; }
        return response.json();
      }).then(function (answer) {
        if (!answer) { setTimeout(poll, 3000); return; }
        var changed = answer.changed;
        boot = answer.boot; seq = String(answer.seq);
        if (liveBadge) { liveBadge.className = "live"; }
        (changed ? refreshListing() : Promise.resolve()).then(function () { setTimeout(poll, 100); },
          function () { setTimeout(poll, 3000); });
      }).catch(function () {
        if (liveBadge) { liveBadge.className = "live off"; liveBadge.textContent = "not live"; }
      });
    }
    poll();
  }
  follow();

  // -- uploads --------------------------------------------------------------------------------------------
  var dropzone = document.getElementById("dropzone");
  var picker = document.getElementById("upload-input");
  var uploads = document.getElementById("uploads");

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || "the console answered HTTP " + response.status); }
        return answer;
      });
    });
  }

  function s3Message(xhr) {
    var match = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || "");
    return (match ? match[1] + " " : "") + "(HTTP " + xhr.status + ")";
  }

  function put(url, blob, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { onProgress(event.loaded); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(xhr.getResponseHeader("ETag")); }
        else { reject(new Error("S3 refused: " + s3Message(xhr))); }
      });
      xhr.addEventListener("error", function () {
        reject(new Error("S3 could not be reached, or it does not allow uploads from this page (CORS)."));
      });
      xhr.send(blob);
    });
  }

  function upload(file) {
    var item = document.createElement("li");
    item.className = "upload";
    item.dataset.name = file.name;
    var name = document.createElement("code");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "signing…";
    item.append(name, " ", bar, " ", status);
    uploads.appendChild(item);

    function progress(loaded) {
      var percent = file.size ? Math.round(loaded / file.size * 100) : 100;
      bar.value = percent;
      status.textContent = percent + "%";
    }

    var request = { prefix: body.dataset.pref || "", name: file.name, size: file.size,
                    type: file.type || "application/octet-stream" };
    return post(dropzone.dataset.uploadUrl || body.dataset.uploadUrl, request).then(function (signed) {
      if (signed.method === "PUT") {
        return put(signed.url, file, signed.headers, progress);
      }
      var etags = [], done = 0, index = 0;
      function next() {
        if (index >= signed.part_urls.length) {
          return post(body.dataset.completeUrl, { key: signed.key, upload_id: signed.upload_id, etags: etags });
        }
        var start = index * signed.part_bytes;
        var part = file.slice(start, Math.min(start + signed.part_bytes, file.size));
        var url = signed.part_urls[index];
        index += 1;
        return put(url, part, {}, function (loaded) { progress(done + loaded); }).then(function (etag) {
          if (!etag) { throw new Error("S3's answer hid the part's ETag (CORS ExposeHeaders)."); }
          etags.push(etag);
          done += part.size;
          return next();
        });
      }
      return next().catch(function (error) {
        post(body.dataset.abortUrl, { key: signed.key, upload_id: signed.upload_id }).catch(function () {});
        throw error;
      });
    }).then(function () {
      bar.value = 100;
      status.textContent = "uploaded";
      item.classList.add("done");
      return refreshListing();
    }, function (error) {
      status.textContent = "failed: " + error.message;
      item.classList.add("failed");
    });
  }

  function uploadAll(files) {
    Array.prototype.forEach.call(files, upload);
  }

  if (dropzone && picker) {
    picker.addEventListener("change", function () { uploadAll(picker.files); picker.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      dropzone.addEventListener(type, function (event) {
        event.preventDefault();
        dropzone.classList.add("over");
      });
    });
    dropzone.addEventListener("dragleave", function () { dropzone.classList.remove("over"); });
    dropzone.addEventListener("drop", function (event) {
      event.preventDefault();
      dropzone.classList.remove("over");
      uploadAll(event.dataTransfer.files);
    });
  }
})();
