// Recording for a group (web/group.py, templates/group.html), with scripts on.
//
// Choosing the group happens on the page, so /group stays one address the
// service worker keeps (it opens offline). Saving checks every chosen learner
// has a target and a rating (else nothing is kept and each problem is shown by
// its field, as the server would), then puts ONE outbox entry per learner, each
// with its own id, into the outbox the target cards use (static/app.js,
// window.rarpaOutbox.keep): all of them on the tablet, in one transaction,
// before anything is sent. Each is then sent and answered on its own, and the
// page shows, learner by learner, saved, waiting to send, or not saved (why).
// What was chosen and the last save are kept for this tab (sessionStorage), so
// a reload, even offline, comes back to the same group and the same answers.
//
// A learner who has agreed to photographs has a photo field in their row
// (templates/_photo_field.html). static/photos.js resizes the photo on the
// tablet, as on the record form; saving puts it into THAT learner's outbox
// entry, kept as the record form's outbox keeps one (window.rarpaOutbox.photoEntry),
// so it is sent once, with that learner's observation.
"use strict";

(() => {
  const root = document.getElementById("group");
  const picker = document.getElementById("group-pick");
  const form = document.getElementById("group-record");
  if (!root || !picker || !form || !window.rarpaOutbox || !window.indexedDB) return; // the plain forms work as they are

  const KEY = "rarpa-group";
  const mode = root.dataset.mode; // pick | change | record (a group chosen by the server: nothing to choose here)
  const sections = [...form.querySelectorAll("section[data-learner]")];
  const results = document.getElementById("group-results");
  const resultsList = document.getElementById("group-results-list");
  let kept = read();
  let chosen = [];
  let handPicked = new Set(); // learners whose target the tutor tapped
  let anchor = null; // {learner, activity}: the first target tapped, which the others follow

  function read() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY)) || {};
    } catch (e) {
      return {};
    }
  }
  function write() {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(kept));
    } catch (e) {
      // private mode: the page still works, it just does not come back after a reload
    }
  }

  const sectionOf = (lid) => sections.find((s) => s.dataset.learner === lid);
  const nameOf = (lid) => sectionOf(lid).dataset.name;
  const checked = (name) => form.querySelector(`input[name="${name}"]:checked`);

  // --- step 1: who is in the group -------------------------------------------------------
  function showRecording(lids, focus) {
    chosen = sections.map((s) => s.dataset.learner).filter((lid) => lids.includes(lid));
    for (const section of sections) {
      const on = chosen.includes(section.dataset.learner);
      section.hidden = !on;
      section.querySelector("fieldset.group-fields").disabled = !on; // a plain post sends the chosen only
    }
    for (const box of picker.querySelectorAll('input[name="learner"]')) box.checked = chosen.includes(box.value);
    document.getElementById("group-names").textContent = chosen.map(nameOf).join(", ");
    picker.hidden = true;
    form.hidden = false;
    handPicked = new Set();
    anchor = null;
    followTheActivity();
    kept.chosen = chosen;
    write();
    if (focus) form.focus();
  }

  function showPicker() {
    form.hidden = true;
    picker.hidden = false;
    clearErrors();
    const first = picker.querySelector('input[name="learner"]');
    if (first) first.focus();
  }

  // Each learner starts at the target matching the first one chosen (the same
  // activity); a learner without it at the one observed least recently.
  function followTheActivity() {
    const first = chosen[0];
    const lead = anchor || (first && checked(`target-${first}`)
      ? { learner: first, activity: checked(`target-${first}`).dataset.activity } : null);
    for (const lid of chosen) {
      if (handPicked.has(lid) || (lead && lid === lead.learner)) continue;
      const radios = [...form.querySelectorAll(`input[name="target-${lid}"]`)];
      const same = lead && radios.find((r) => r.dataset.activity === lead.activity);
      const fallback = radios.find((r) => r.hasAttribute("data-default"));
      const pick = same || fallback;
      if (pick) pick.checked = true;
    }
  }

  form.addEventListener("change", (event) => {
    const radio = event.target;
    if (!radio.name || !radio.name.startsWith("target-")) return;
    const lid = radio.name.slice("target-".length);
    handPicked.add(lid);
    if (!anchor || anchor.learner === lid) {
      anchor = { learner: lid, activity: radio.dataset.activity };
      followTheActivity();
    }
  });

  if (mode !== "record") {
    picker.addEventListener("submit", (event) => {
      event.preventDefault();
      const lids = [...picker.querySelectorAll('input[name="learner"]:checked')].map((b) => b.value);
      if (!lids.length) {
        showErrors([{ field: "learner", message: "Choose at least one learner" }]);
        return;
      }
      clearErrors();
      showRecording(lids, true);
    });
    document.getElementById("group-change").addEventListener("click", (event) => {
      event.preventDefault();
      showPicker();
    });
  } else {
    chosen = sections.map((s) => s.dataset.learner);
  }

  // --- step 2: saving, one outbox entry per learner ------------------------------------------
  function problems() {
    const found = [];
    for (const lid of chosen) {
      const name = nameOf(lid);
      if (!checked(`target-${lid}`)) found.push({ field: `target-${lid}`, message: `Choose a target for ${name}` });
      if (!checked(`rating-${lid}`)) found.push({ field: `rating-${lid}`, message: `Choose a rating for ${name}` });
    }
    return found;
  }

  function noteFor(lid) {
    const shared = form.elements.shared_note.value.trim();
    const own = form.elements[`note-${lid}`].value.trim();
    return [shared, own].filter(Boolean).join("\n");
  }

  const photoFieldOf = (lid) => sectionOf(lid).querySelector("[data-photo-field]");

  // The photo for this learner's outbox entry (as app.js keeps the record form's), or null.
  async function photoFor(lid) {
    const field = photoFieldOf(lid);
    if (!field) return null;
    let blob = window.rarpaPhotos ? await window.rarpaPhotos.take(field) : null;
    const file = field.querySelector("input[type=file]").files[0];
    if (!blob && !window.rarpaPhotos && file && file.size) blob = file; // the server re-encodes it
    return blob ? window.rarpaOutbox.photoEntry(blob) : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const found = problems();
    if (found.length) {
      showErrors(found);
      return;
    }
    clearErrors();
    const at = new Date().toISOString();
    const context = checked("context");
    const now = Date.now();
    const photos = await Promise.all(chosen.map(photoFor));
    const items = chosen.map((lid, n) => {
      const rating = checked(`rating-${lid}`);
      const prompt = checked(`prompt-${lid}`);
      const id = window.rarpaOutbox.newId();
      const fields = {
        id,
        target_id: checked(`target-${lid}`).value,
        rating: rating.value,
        context: context ? context.value : "",
        prompt_level: prompt ? prompt.value : "",
        note: noteFor(lid),
        observed_at: at,
      };
      // Should the outbox fail, the plain post sends these very ids (and time).
      form.elements[`id-${lid}`].value = id;
      const item = {
        id, url: `/learners/${lid}/observations`, fields, targetId: fields.target_id, learnerId: lid,
        label: nameOf(lid), ratingWords: labelOf(rating), createdAt: now + n, state: "waiting", message: "",
      };
      if (photos[n]) item.photo = photos[n];
      return item;
    });
    form.elements.observed_at.value = at;
    try {
      await window.rarpaOutbox.keep(items);
    } catch (e) {
      form.submit(); // no outbox on this device: the plain post, which is all or nothing
      return;
    }
    kept.last = items.map((i) => ({ id: i.id, learnerId: i.learnerId, label: i.label, rating: i.ratingWords,
                                    photo: Boolean(i.photo) }));
    kept.outcome = {};
    write();
    readyForNext();
    await showResults();
    results.focus();
  });

  function labelOf(input) {
    const label = form.querySelector(`label[for="${input.id}"]`);
    return label ? label.textContent.trim() : input.value;
  }

  // The next activity: the same group, place and targets; ratings, prompts, notes and photos cleared.
  function readyForNext() {
    for (const lid of chosen) {
      const seen = checked(`target-${lid}`);
      const when = seen && form.querySelector(`label[for="${seen.id}"] .chip-sub`);
      if (when) when.textContent = "recorded just now";
      const rating = checked(`rating-${lid}`);
      if (rating) rating.checked = false;
      const none = form.querySelector(`input[name="prompt-${lid}"][value=""]`);
      if (none) none.checked = true;
      form.elements[`note-${lid}`].value = "";
      const photo = photoFieldOf(lid);
      if (photo && window.rarpaPhotos) window.rarpaPhotos.clear(photo);
      else if (photo) photo.querySelector("input[type=file]").value = "";
    }
    form.elements.shared_note.value = "";
  }

  // --- what became of each -------------------------------------------------------------------
  async function stateOf(entry, waiting) {
    const item = waiting.get(entry.id);
    if (item) return item.state === "problem" ? { state: "problem", message: item.message } : { state: "waiting" };
    const known = (kept.outcome || {})[entry.id];
    if (known) return { state: known };
    // Left the outbox while this page was not open: ask the server whether it has it.
    try {
      const answer = await fetch(`/learners/${entry.learnerId}/observations/${entry.id}`, { method: "HEAD", credentials: "same-origin" });
      if (answer.status === 200) return remember(entry.id, "saved");
      if (answer.status === 404) return remember(entry.id, "discarded");
    } catch (offline) {
      // fall through
    }
    return { state: "sent" };
  }

  function remember(id, state) {
    kept.outcome = { ...(kept.outcome || {}), [id]: state };
    write();
    return { state };
  }

  const WORDS = {
    saved: "Saved",
    sent: "Sent from this tablet",
    waiting: "Waiting to send (kept on this tablet)",
    discarded: "Not saved: discarded",
  };

  async function showResults() {
    const last = kept.last || [];
    if (!last.length) return; // the server's own list (after a plain post), if any, stays
    const waiting = new Map((await window.rarpaOutbox.all()).map((i) => [i.id, i]));
    const lines = [];
    for (const entry of last) {
      const { state, message } = await stateOf(entry, waiting);
      const li = document.createElement("li");
      li.className = `result result-${state}`;
      li.dataset.observation = entry.id;
      const who = document.createElement("strong");
      who.textContent = entry.label;
      const said = document.createElement("span");
      said.className = "result-state";
      said.textContent = state === "problem" ? `Not saved: ${message}` : WORDS[state];
      li.append(who, ` · ${entry.rating}${entry.photo ? " with a photo" : ""} · `, said);
      lines.push(li);
    }
    resultsList.replaceChildren(...lines);
    results.hidden = false;
  }

  document.addEventListener("rarpa:outbox", (event) => {
    const { id, state } = event.detail;
    if (!(kept.last || []).some((e) => e.id === id)) return;
    if (state === "saved" || state === "discarded") remember(id, state);
    showResults();
  });

  // --- errors, as the server shows them -------------------------------------------------------
  function clearErrors() {
    root.querySelectorAll("[data-made-here]").forEach((el) => el.remove());
    root.querySelectorAll(".has-error[data-error-here]").forEach((el) => {
      el.classList.remove("has-error");
      el.removeAttribute("data-error-here");
    });
  }

  function showErrors(found) {
    clearErrors();
    const summary = document.createElement("div");
    summary.className = "error-summary";
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    summary.dataset.madeHere = "";
    const heading = document.createElement("h2");
    heading.textContent = "There is a problem";
    const list = document.createElement("ul");
    for (const { field, message } of found) {
      const link = document.createElement("a");
      link.href = `#${field}`;
      link.textContent = message;
      const li = document.createElement("li");
      li.append(link);
      list.append(li);
      const where = document.getElementById(field);
      if (where) {
        const p = document.createElement("p");
        p.className = "field-error";
        p.dataset.madeHere = "";
        const hidden = document.createElement("span");
        hidden.className = "visually-hidden";
        hidden.textContent = "Error: ";
        p.append(hidden, message);
        const legend = where.querySelector("legend");
        if (legend) legend.after(p);
        else where.prepend(p);
        if (!where.classList.contains("has-error")) {
          where.classList.add("has-error");
          where.dataset.errorHere = "";
        }
      }
    }
    summary.append(heading, list);
    root.prepend(summary);
    summary.focus();
  }

  // --- on load ---------------------------------------------------------------------------------
  const stored = (kept.chosen || []).filter((lid) => sectionOf(lid));
  if (mode === "pick" && stored.length) showRecording(stored, false);
  showResults();
})();
