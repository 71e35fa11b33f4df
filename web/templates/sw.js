// RARPA Record service worker, shell version {{ version }}.
// Pages: network first, falling back to the copy kept from the last visit.
// Shell (CSS, scripts, icons): cache first. Writes are never handled here: the
// page's outbox keeps them in IndexedDB until the server has answered.
const SHELL = "rarpa-shell-{{ version }}";
const PAGES = "rarpa-pages";
const SHELL_URLS = {{ shell|tojson }};

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
    return keepPage(request, response);
  } catch (offline) {
    const cache = await caches.open(PAGES);
    const kept = await cache.match(new URL(request.url).pathname);
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
    // Keep the pages of the caseload, so they open without a connection.
    event.waitUntil(Promise.all(data.urls.map((path) =>
      // Marked, so the access log can say the page was kept for offline use, not read.
      fetch(path, { credentials: "same-origin", headers: { Accept: "text/html", "X-Precache": "1" } })
        .then((response) => keepPage(new Request(path), response))
        .catch(() => null))));
  } else if (data.type === "forget") {
    // Signing out: no learner's page stays on a shared tablet.
    event.waitUntil(caches.delete(PAGES));
  }
});
