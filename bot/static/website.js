/* The website's complaint page (bot/website.py): show a step only while its condition holds (data-when, the
   form's own `when`), check the photos' count and size before sending, and keep one submission at a time.
   Without this script every field shows and the server applies the same conditions. */
(function () {
  "use strict";
  var form = document.getElementById("complaint-form");
  if (!form) { return; }
  form.classList.add("js");  /* steps now appear as they apply: their "…时填写" notes are for pages without script */

  function answers(key) {
    var holder = form.querySelector('[data-key="' + key + '"]');
    if (!holder || holder.hidden) { return []; }
    var out = [];
    holder.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) { out.push(el.value); }
      } else if (el.value.trim()) {
        out.push(el.value.trim());
      }
    });
    return out;
  }

  function applyConditions() {
    form.querySelectorAll("[data-when]").forEach(function (field) {
      var when = JSON.parse(field.getAttribute("data-when"));
      var holds = Object.keys(when).every(function (key) {
        return answers(key).some(function (value) { return when[key].indexOf(value) >= 0; });
      });
      field.hidden = !holds;
      field.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !holds; });
    });
  }

  var photos = document.getElementById("f-photos");
  var photoError = document.getElementById("f-photos-error");

  function photoProblem() {
    if (!photos || !photos.files) { return ""; }
    var most = parseInt(photos.getAttribute("data-max-count"), 10);
    var biggest = parseInt(photos.getAttribute("data-max-bytes"), 10);
    if (photos.files.length > most) { return photos.getAttribute("data-too-many"); }
    for (var i = 0; i < photos.files.length; i += 1) {
      if (photos.files[i].size > biggest) {
        return photos.getAttribute("data-too-large").replace("{name}", photos.files[i].name);
      }
    }
    return "";
  }

  var chosen = document.getElementById("f-photos-chosen");

  function showPhotoProblem() {
    var problem = photoProblem();
    if (chosen && photos) {
      var n = photos.files ? photos.files.length : 0;
      chosen.textContent = n ? chosen.getAttribute("data-template").replace("{n}", String(n)) : "";
    }
    if (photoError) {
      photoError.textContent = problem;
      photoError.hidden = !problem;
    }
    return problem;
  }

  form.addEventListener("change", function (event) {
    if (event.target === photos) { showPhotoProblem(); }
    applyConditions();
  });
  form.addEventListener("submit", function (event) {
    if (showPhotoProblem()) {
      event.preventDefault();
      photos.focus();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) {
      if (button.disabled) { event.preventDefault(); return; }
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy") || button.textContent;
    }
  });
  applyConditions();
}());
