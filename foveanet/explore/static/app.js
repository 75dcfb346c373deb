// The single page: a hash router over the pages in pages.js / playground.js.
"use strict";

const S = { run: null, image: null, layer: null };

async function api(path, opts) {
  const r = await fetch(path, opts);
  let body;
  try { body = await r.json(); } catch (e) { body = { error: `${r.status} ${r.statusText}` }; }
  if (!r.ok) throw new Error(body.error || `${r.status}`);
  return body;
}

function showError(msg) {
  const e = document.getElementById("error");
  e.textContent = msg || ""; e.hidden = !msg;
}

const TITLES = { model: "Model", image: "Image", filters: "Filters", training: "Training",
  playground: "Conv playground", segment: "Segmentation", text: "Text" };

async function route() {
  const [page, ...rest] = (location.hash.slice(1) || (S.run && S.run.pages[0]) || "playground").split("/");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  const root = document.getElementById("page");
  X.hideTip();  // a hover value of the page being left would stay on screen
  showError("");
  X.put(root, X.el("p", { class: "muted", text: "loading…" }));
  try {
    const draw = PAGES[page];
    if (!draw) throw new Error(`no page ${page}`);
    X.put(root);
    await draw(root, rest.map(decodeURIComponent));
    root.dataset.ready = page;
  } catch (e) {
    X.put(root, X.el("p", { class: "muted", text: "This page could not be shown." }));
    showError(e.message);
    root.dataset.ready = page;
  }
}

async function start() {
  let pages = ["playground"];
  try {
    S.run = await api("/api/run");
    pages = S.run.pages;
    document.getElementById("run-name").textContent = `${S.run.name} · ${S.run.model || S.run.kind}`;
  } catch (e) {
    showError(e.message);
  }
  const nav = document.getElementById("nav");
  for (const p of pages) nav.append(X.el("a", { href: `#${p}`, "data-page": p, text: TITLES[p] || p }));
  window.addEventListener("hashchange", route);
  await route();
}

start();
