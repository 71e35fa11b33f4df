// RARPA Record on the tablet: the outbox, the offline banner and the page cache.
//
// Every observation goes into the outbox (IndexedDB) *before* it is sent, with
// its own id (a UUID made here) and the device's time. It leaves the outbox only
// when the server has answered: 201 (stored) or 200 (already stored: the server
// knows the id, so sending twice is harmless). A conflict or a refusal is kept
// and shown, never dropped. Sending is tried on page load, when the connection
// returns and every minute while a page is open (Safari has no Background Sync).
"use strict";

const DB_NAME = "rarpa";
const STORE = "outbox";
const RETRY_MS = 60 * 1000;

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const outbox = {
  put: (item) => withStore("readwrite", (s) => s.put(item)),
  putAll: (items) => withStore("readwrite", (s) => items.forEach((item) => s.put(item))), // all or none
  remove: (id) => withStore("readwrite", (s) => s.delete(id)),
  all: () => withStore("readonly", (s) => s.getAll()),
};

function newId() {
  if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function plainText(html) {
  const div = document.createElement("div");
  div.innerHTML = html;
  return (div.textContent || "").trim();
}

// --- recording ---------------------------------------------------------------------
async function keepAndSend(form, submitter) {
  const data = new FormData(form);
  if (submitter && submitter.name) data.set(submitter.name, submitter.value); // the rating tapped
  const photo = await photoToKeep(form, data.get("photo"));
  const fields = Object.fromEntries(data.entries());
  delete fields.csrf_token; // the current page's token is used when sending
  delete fields.photo; // the file as chosen: the outbox keeps the resized copy (below)
  fields.id = newId();
  fields.observed_at = new Date().toISOString();
  const item = {
    id: fields.id,
    url: form.getAttribute("action"),
    fields,
    targetId: fields.target_id,
    createdAt: Date.now(),
    state: "waiting",
    message: "",
  };
  if (photo) item.photo = photo;
  await outbox.put(item); // on the tablet first: nothing is lost if the tab closes now
  const details = form.closest("details");
  if (details) details.open = false;
  form.reset();
  if (window.rarpaPhotos) window.rarpaPhotos.clear(form);
  showPending();
  await flush();
}

// --- a photo with an observation (static/photos.js makes it) ----------------------------------
// Kept in the outbox with its observation as the JPEG's bytes (an ArrayBuffer: older
// Safari could not keep a Blob in IndexedDB) and sent with it, once, as multipart/form-data.
// The server stores it once however often it is sent: the same observation id and the
// same bytes are a repeat.
async function photoToKeep(form, chosenFile) {
  let blob = window.rarpaPhotos ? await window.rarpaPhotos.take(form) : null;
  if (!blob && !window.rarpaPhotos && chosenFile && chosenFile.size) blob = chosenFile; // the server re-encodes it
  return blob ? photoEntry(blob) : null;
}

// How an outbox item keeps its photo (item.photo), here and for a group (static/group.js).
async function photoEntry(blob) {
  return { type: "image/jpeg", size: blob.size, bytes: await blob.arrayBuffer() };
}

function bodyOf(item) {
  if (!item.photo) return new URLSearchParams(item.fields);
  const body = new FormData();
  for (const [name, value] of Object.entries(item.fields)) body.append(name, value);
  body.append("photo", new Blob([item.photo.bytes], { type: item.photo.type }), "photo.jpg");
  return body;
}

// One sending at a time. A call while one is under way waits for it and for one
// more round, which takes what was added meanwhile (not a minute later).
let flushing = null;
let flushAgain = false;
function flush() {
  if (flushing) {
    flushAgain = true;
    return flushing;
  }
  flushing = (async () => {
    try {
      do {
        flushAgain = false;
        await sendWaiting();
      } while (flushAgain);
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}

async function sendWaiting() {
  try {
    const items = (await outbox.all()).filter((i) => i.state === "waiting").sort((a, b) => a.createdAt - b.createdAt);
    for (const item of items) {
      let response;
      try {
        const headers = { "X-CSRFToken": csrfToken(), "X-Outbox": "1" };
        // With a photo the browser writes the multipart Content-Type (and its boundary) itself.
        if (!item.photo) headers["Content-Type"] = "application/x-www-form-urlencoded";
        response = await fetch(item.url, { method: "POST", credentials: "same-origin", headers, body: bodyOf(item) });
      } catch (offline) {
        break; // no connection: try again later
      }
      if (response.status === 200 || response.status === 201) {
        const html = await response.text();
        await outbox.remove(item.id);
        replaceCard(item.targetId, html);
        announce(item, "saved");
      } else if (response.status === 401 || response.status === 400) {
        // Signed out, or a page too old to carry a valid token: keep everything.
        setStatusNote(response.status === 401 ? "Sign in again to send what is waiting." : "Reload the page to send what is waiting.");
        break;
      } else if (response.status >= 500) {
        break; // the server is struggling: keep and retry
      } else {
        // 409, 422, 404, 403: the server will not take it as it is. Keep it and say why.
        item.state = "problem";
        item.message = plainText(await response.text()) || `Refused (${response.status})`;
        item.status = response.status;
        await outbox.put(item);
        announce(item, "problem");
      }
    }
  } finally {
    await showPending();
  }
}

// What became of an item, for a page that shows it (static/group.js).
function announce(item, state) {
  document.dispatchEvent(new CustomEvent("rarpa:outbox", { detail: { id: item.id, state, message: item.message || "" } }));
}

// Several observations at once (recording for a group): into the outbox in one
// transaction, each with its own id, then sent one by one like any other.
async function keepAll(items) {
  await outbox.putAll(items);
  showPending();
  flush().catch(() => {});
}

function replaceCard(targetId, html) {
  const card = document.getElementById("t-" + targetId);
  if (!card) return;
  const holder = document.createElement("div");
  holder.innerHTML = html.trim();
  const fresh = holder.firstElementChild;
  if (!fresh) return;
  card.replaceWith(fresh);
  if (window.htmx) window.htmx.process(fresh);
}

// --- what the page shows ---------------------------------------------------------------
let statusNote = "";
function setStatusNote(text) {
  statusNote = text;
}

async function showPending() {
  const items = await outbox.all();
  const waiting = items.filter((i) => i.state === "waiting");
  const problems = items.filter((i) => i.state === "problem");
  const status = document.getElementById("outbox-status");
  if (status) {
    const parts = [];
    if (waiting.length) parts.push(`${waiting.length} waiting to send`);
    if (problems.length) parts.push(`${problems.length} need${problems.length === 1 ? "s" : ""} attention`);
    if (statusNote && waiting.length) parts.push(statusNote);
    status.textContent = parts.join(" · ");
    status.hidden = parts.length === 0;
  }
  document.querySelectorAll("[data-pending-for]").forEach((slot) => {
    const mine = items.filter((i) => i.targetId === slot.dataset.pendingFor);
    slot.replaceChildren(...mine.map(pendingLine));
  });
  renderProblems(problems);
}

function pendingLine(item) {
  const p = document.createElement("p");
  p.className = item.state === "problem" ? "flash flash-error" : "flash flash-quiet";
  const rating = (item.fields.rating || "").replace("_", " ");
  const withPhoto = item.photo ? " with a photo" : "";
  p.textContent = item.state === "problem"
    ? `Not saved (${rating})${withPhoto}: ${item.message}`
    : `Saved on this tablet (${rating})${withPhoto}, waiting to send.`;
  return p;
}

function renderProblems(problems) {
  let panel = document.getElementById("outbox-problems");
  if (!problems.length) {
    if (panel) panel.remove();
    return;
  }
  if (!panel) {
    panel = document.createElement("section");
    panel.id = "outbox-problems";
    panel.className = "card problems";
    panel.setAttribute("aria-labelledby", "outbox-problems-h");
    const main = document.getElementById("main");
    main.prepend(panel);
  }
  const heading = document.createElement("h2");
  heading.id = "outbox-problems-h";
  heading.textContent = "Not saved: please check";
  const list = document.createElement("ul");
  for (const item of problems) {
    const li = document.createElement("li");
    const when = new Date(item.fields.observed_at).toLocaleString("en-GB");
    li.textContent = `${item.label ? item.label + ", " : ""}${when}, rating ${(item.fields.rating || "").replace("_", " ")}: ${item.message} `;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "btn btn-quiet";
    discard.textContent = "Discard";
    discard.addEventListener("click", async () => {
      if (confirm("Discard this observation? It was not saved on the server.")) {
        await outbox.remove(item.id);
        announce(item, "discarded");
        showPending();
      }
    });
    li.append(discard);
    if (item.photo) {
      // Refused for its photo (say, consent changed meanwhile): the observation can still go.
      const without = document.createElement("button");
      without.type = "button";
      without.className = "btn btn-quiet";
      without.textContent = "Send without the photo";
      without.addEventListener("click", async () => {
        delete item.photo;
        item.state = "waiting";
        item.message = "";
        await outbox.put(item);
        showPending();
        flush();
      });
      li.append(" ", without);
    }
    list.append(li);
  }
  panel.replaceChildren(heading, list);
}

function showConnection() {
  const banner = document.getElementById("offline-banner");
  if (banner) banner.hidden = navigator.onLine;
}

// --- the page cache (service worker) ------------------------------------------------------
async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    const ready = await navigator.serviceWorker.ready;
    // This page is kept already when the worker served it; fetching its path again would be a
    // second view in the access log (and, for a page as at an instant, a view nobody asked for).
    const here = navigator.serviceWorker.controller ? [] : [location.pathname];
    const urls = [...here, ...[...document.querySelectorAll("a[data-precache]")].map((a) => new URL(a.href).pathname)];
    if (ready.active && document.querySelector('meta[name="csrf-token"]') && document.getElementById("outbox-status")) {
      ready.active.postMessage({ type: "precache", urls: [...new Set(urls)] });
    }
  } catch (e) {
    // Without a service worker the app still works online.
  }
}

// --- wiring ---------------------------------------------------------------------------------
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-outbox]") && window.indexedDB) {
    event.preventDefault();
    keepAndSend(form, event.submitter).catch(() => form.submit());
  } else if (form.matches("form[data-signout]")) {
    outbox.all().then((items) => items.filter((i) => i.state === "waiting").length).then((n) => {
      if (n && !confirm(`${n} observation${n === 1 ? " has" : "s have"} not been sent yet. They stay on this tablet and are sent when you next sign in. Sign out?`)) {
        return;
      }
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ type: "forget" });
      }
      try { sessionStorage.clear(); } catch (e) { /* nothing kept */ } // e.g. the group last recorded for
      form.submit();
    });
    event.preventDefault();
  }
});

window.addEventListener("online", () => { showConnection(); flush(); });
window.addEventListener("offline", showConnection);
document.addEventListener("DOMContentLoaded", () => {
  showConnection();
  if (document.getElementById("outbox-status")) {
    showPending().then(flush);
    setInterval(flush, RETRY_MS);
  }
  registerWorker();
});

// For tests and the curious: window.rarpaOutbox.all() lists what is waiting.
window.rarpaOutbox = { all: outbox.all, flush, keep: keepAll, newId, photoEntry };

// --- a session that ended (web/sessions.py) ---------------------------------------------------
// The sign-in page after a session ended for lack of use: no learner's page stays in the
// offline copy on a tablet that was left; the outbox is kept, to send after signing in.
document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("[data-forget-pages]") && navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: "forget" });
  }
});
