// RARPA Record service worker, shell version {{ version }}.
// Pages: network first, falling back to the copy kept from the last visit.
// Shell (CSS, scripts, icons): cache first. Writes are never handled here: the
// page's outbox keeps them in IndexedDB until the server has answered.
const SHELL = "rarpa-shell-{{ version }}";
const PAGES = "rarpa-pages";
const SHELL_URLS = {{ shell|tojson }};

// Learner mode (web/learner_mode.py): while a tablet is handed to a learner, every
// HTML answer of the server says so (X-Learner-Mode: the learner's id, or "off"
// once unlocked). The worker keeps what it last heard, in a cache of its own so a
// restarted worker still knows, and offline it opens nothing but that learner's
// own pages (/learners/<id>/me...): any other page goes to theirs.
const LEARNER_MODE = "rarpa-learner-mode";
const LOCK_KEY = "/__learner-mode__";
let lock; // undefined until read; null: not locked; else the learner's id

async function currentLock() {
  if (lock === undefined) {
    const kept = await (await caches.open(LEARNER_MODE)).match(LOCK_KEY);
    lock = kept ? (await kept.text()) || null : null;
  }
  return lock;
}

async function heard(response) {
  const said = response.headers.get("X-Learner-Mode");
  if (!said) return; // not one of our pages (or a redirect, whose headers a worker cannot read)
  const cache = await caches.open(LEARNER_MODE);
  lock = said === "off" ? null : said;
  if (lock) await cache.put(LOCK_KEY, new Response(lock));
  else await cache.delete(LOCK_KEY);
}

function ownPage(path, learner) {
  return path === `/learners/${learner}/me` || path.startsWith(`/learners/${learner}/me/`);
}

function lockedOffline() {
  // The learner's page was not kept on this tablet: say so, with nothing else to go to.
  const body = '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><title>No internet just now</title>'
    + '<link rel="stylesheet" href="{{ asset('app.css') }}"><link rel="stylesheet" href="{{ asset('easy_read.css') }}"></head>'
    + '<body class="easy-read"><main class="er-main"><h1 class="er-title">No internet just now</h1>'
    + "<p>This page is not on the tablet. Try again when the internet is back.</p></main></body></html>";
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("rarpa-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function isPage(request) {
  return request.mode === "navigate" || (request.headers.get("Accept") || "").includes("text/html");
}

async function keepPage(request, response) {
  // Only whole, successful pages of this app (HTML: never a photo or a PDF opened on its
  // own, which are sent with no-store); never the sign-in page.
  const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
  if (response.ok && html && !response.redirected && response.type === "basic" && !new URL(request.url).pathname.startsWith("/login")) {
    const cache = await caches.open(PAGES);
    await cache.put(new URL(request.url).pathname, response.clone());
  }
  return response;
}

async function pageFromNetwork(request) {
  try {
    const response = await fetch(request);
    await heard(response);
    return keepPage(request, response);
  } catch (offline) {
    const path = new URL(request.url).pathname;
    const learner = await currentLock();
    if (learner && !ownPage(path, learner)) {
      // Handed to a learner: not another learner's page, not a staff page. Theirs instead.
      return request.mode === "navigate" ? Response.redirect(`/learners/${learner}/me`, 303)
        : new Response("", { status: 403 });
    }
    const cache = await caches.open(PAGES);
    const kept = await cache.match(path);
    if (learner) return kept || lockedOffline();
    return kept || (await caches.match("/offline")) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // straight to the network
  }
  if (SHELL_URLS.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
    return;
  }
  if (isPage(request) && !url.search) {
    event.respondWith(pageFromNetwork(request));
  }
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "precache" && Array.isArray(data.urls)) {
    // Keep the pages of the caseload, so they open without a connection (never while handed to a learner).
    event.waitUntil(currentLock().then((learner) => learner ? null : Promise.all(data.urls.map((path) =>
      // Marked, so the access log can say the page was kept for offline use, not read.
      fetch(path, { credentials: "same-origin", headers: { Accept: "text/html", "X-Precache": "1" } })
        .then((response) => keepPage(new Request(path), response))
        .catch(() => null)))));
  } else if (data.type === "forget") {
    // Signing out: no learner's page stays on a shared tablet.
    event.waitUntil(caches.delete(PAGES));
  }
});
