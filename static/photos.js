// RARPA Record on the tablet: the photo on the record form (web/templates/_photo_field.html).
//
// A photo chosen (or taken with the camera) is made smaller here, on the tablet, before it
// goes anywhere: drawn onto a canvas at most LONGEST pixels a side and written again as a
// JPEG. Only the pixels go through a canvas, so the EXIF goes (where it was taken, the
// camera, the time), as does anything else in the file. It is then shown with "Remove
// photo", and the outbox (static/app.js) takes it with the observation: kept on the tablet
// first, sent with the observation once. The server checks and re-encodes it again anyway.
"use strict";

(() => {
  const LONGEST = 1600; // pixels: plenty to see what the learner did, a few hundred KB
  const QUALITY = 0.8;
  const PREVIEW = 240; // the thumbnail shown on the form
  const NOT_A_PHOTO = "This file is not a photo we can keep (JPEG, PNG or WebP). Choose another.";

  // form -> Promise of the resized photo (a Blob), or of null while none is chosen.
  const chosen = new WeakMap();

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

  function clear(form) {
    chosen.delete(form);
    const field = form.querySelector("[data-photo-field]");
    if (!field) return;
    const p = parts(field);
    p.input.value = "";
    p.thumb.removeAttribute("src");
    p.preview.hidden = true;
    p.add.firstChild.textContent = "Add a photo";
  }

  async function choose(input) {
    const form = input.form;
    const field = input.closest("[data-photo-field]");
    const p = parts(field);
    const file = input.files && input.files[0];
    if (!file) {
      clear(form);
      return;
    }
    p.status.textContent = "Getting the photo ready…";
    const ready = prepare(file);
    chosen.set(form, ready.then((made) => made.blob, () => null));
    try {
      const made = await ready;
      if (chosen.get(form) === undefined) return; // removed meanwhile
      p.thumb.src = made.preview;
      p.preview.hidden = false;
      p.add.firstChild.textContent = "Change photo";
      p.status.textContent = `Photo ready (${Math.max(1, Math.round(made.blob.size / 1024))} KB, location removed). It is sent with the observation.`;
    } catch (e) {
      clear(form);
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
    const form = button.form;
    clear(form);
    const field = form.querySelector("[data-photo-field]");
    parts(field).status.textContent = "Photo removed: it will not be sent.";
    parts(field).input.focus();
  });

  // For the outbox: the photo to keep with this form's observation (null when none), and
  // forgetting it once it is kept.
  window.rarpaPhotos = {
    take: (form) => chosen.get(form) || Promise.resolve(null),
    clear,
  };
})();
