// RARPA Record on the tablet: a photo with an observation (web/templates/_photo_field.html), on
// the record form (one per form) and on the group page (one per learner's row, several a form).
//
// A photo chosen (or taken with the camera) is made smaller here, on the tablet, before it
// goes anywhere: drawn onto a canvas at most LONGEST pixels a side and written again as a
// JPEG. Only the pixels go through a canvas, so the EXIF goes (where it was taken, the
// camera, the time), as does anything else in the file. It is then shown with "Remove
// photo", and the outbox takes it with the observation (static/app.js for the record form,
// static/group.js for each learner of a group): kept on the tablet first, sent with the
// observation once. The server checks and re-encodes it again anyway.
//
// Everything here goes by the photo field ([data-photo-field]), not by its form, so a form may
// hold several: window.rarpaPhotos.take(formOrField) and .clear(formOrField) take a form (its
// first field: the record form has one) or a field itself; .prepare(file) is the resizing alone.
"use strict";

(() => {
  const LONGEST = 1600; // pixels: plenty to see what the learner did, a few hundred KB
  const QUALITY = 0.8;
  const PREVIEW = 240; // the thumbnail shown on the form
  const NOT_A_PHOTO = "This file is not a photo we can keep (JPEG, PNG or WebP). Choose another.";

  // photo field -> Promise of the resized photo (a Blob), or of null while none is chosen.
  const chosen = new WeakMap();

  // The photo field meant: the element itself when it is one, else the first one inside it.
  function fieldOf(element) {
    if (!element) return null;
    return element.matches("[data-photo-field]") ? element : element.querySelector("[data-photo-field]");
  }

  function parts(field) {
    return {
      input: field.querySelector("input[type=file]"),
      add: field.querySelector(".photo-add"),
      preview: field.querySelector("[data-photo-preview]"),
      thumb: field.querySelector("[data-photo-thumb]"),
      status: field.querySelector("[data-photo-status]"),
    };
  }

  function readAsDataUrl(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  // The picture as pixels, turned the way the camera meant it (its EXIF orientation).
  async function decode(file) {
    if (self.createImageBitmap) {
      try {
        return await createImageBitmap(file, { imageOrientation: "from-image" });
      } catch (e) {
        // Not decodable this way: try an <img> (data: images are allowed by the CSP).
      }
    }
    const img = new Image();
    img.src = await readAsDataUrl(file);
    await img.decode();
    return img;
  }

  function drawn(source, longest) {
    const width = source.width || source.naturalWidth;
    const height = source.height || source.naturalHeight;
    const scale = Math.min(1, longest / Math.max(width, height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a transparent PNG on white, as on a page
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function jpeg(canvas, quality) {
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no JPEG"))), "image/jpeg", quality);
    });
  }

  async function prepare(file) {
    const picture = await decode(file);
    if (!(picture.width || picture.naturalWidth)) throw new Error("no pixels");
    const blob = await jpeg(drawn(picture, LONGEST), QUALITY);
    const preview = drawn(picture, PREVIEW).toDataURL("image/jpeg", 0.7);
    if (picture.close) picture.close();
    return { blob, preview };
  }

  function clear(formOrField) {
    const field = fieldOf(formOrField);
    if (!field) return;
    chosen.delete(field);
    const p = parts(field);
    p.input.value = "";
    p.thumb.removeAttribute("src");
    p.preview.hidden = true;
    p.add.firstChild.textContent = "Add a photo";
    p.status.textContent = "";
  }

  async function choose(input) {
    const field = input.closest("[data-photo-field]");
    const p = parts(field);
    const file = input.files && input.files[0];
    if (!file) {
      clear(field);
      return;
    }
    p.status.textContent = "Getting the photo ready…";
    const ready = prepare(file);
    const blob = ready.then((made) => made.blob, () => null);
    chosen.set(field, blob);
    try {
      const made = await ready;
      if (chosen.get(field) !== blob) return; // removed or changed meanwhile
      p.thumb.src = made.preview;
      p.preview.hidden = false;
      p.add.firstChild.textContent = "Change photo";
      p.status.textContent = `Photo ready (${Math.max(1, Math.round(made.blob.size / 1024))} KB, location removed). It is sent with the observation.`;
    } catch (e) {
      if (chosen.get(field) !== blob) return;
      clear(field);
      p.status.textContent = NOT_A_PHOTO;
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("[data-photo-field] input[type=file]")) {
      choose(event.target);
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-photo-remove]");
    if (!button) return;
    const field = button.closest("[data-photo-field]");
    clear(field);
    parts(field).status.textContent = "Photo removed: it will not be sent.";
    parts(field).input.focus();
  });

  // For the outbox: the photo to keep with an observation (null when none), from the record
  // form or one photo field of the group form; forgetting it once it is kept; and the resizing
  // itself (a File -> {blob, preview}).
  window.rarpaPhotos = {
    take: (formOrField) => chosen.get(fieldOf(formOrField)) || Promise.resolve(null),
    clear,
    prepare,
  };
})();
