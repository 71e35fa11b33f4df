// RARPA Record: a family member sending what they saw at home (web/templates/family_send.html).
//
// The photo chosen is made smaller on the phone by static/photos.js (drawn onto a canvas and
// written again as a JPEG, so the location and the rest of its EXIF never leave the phone);
// once it is ready, the file input is given that smaller photo in place of the original, so
// the form sends it as it is. Sent before it is ready, or without scripts, the original goes
// and the server does the same.
"use strict";

(() => {
  const form = document.querySelector("[data-family-send]");
  if (!form || !window.rarpaPhotos || !window.DataTransfer) return;
  form.addEventListener("change", async (event) => {
    const input = event.target;
    if (!input.matches("[data-photo-field] input[type=file]") || !input.files.length) return;
    const original = input.files[0];
    const blob = await window.rarpaPhotos.take(input.closest("[data-photo-field]"));
    if (!blob || input.files[0] !== original) return; // none, or another chosen meanwhile
    const files = new DataTransfer();
    files.items.add(new File([blob], "photo.jpg", { type: "image/jpeg" }));
    input.files = files.files;
  });
})();
