// The pages of a run: model graph, image through the network, filters, training.
"use strict";

const PAGES = {};

// ------------------------------------------------------------------ Model
PAGES.model = async (root) => {
  const m = await api("/api/model");
  root.append(X.el("h2", { text: `${m.model}: ${X.int(m.total_params)} parameters, ${X.int(m.total_mult_adds)} mult-adds per image` }));
  const details = X.el("div", { class: "card details", id: "layer-details" },
    X.el("p", { class: "muted", text: "Click a layer for its numbers." }));
  const W = 330, H = 30, GAP = 12, TOP = 40;
  const y = (i) => TOP + i * (H + GAP);
  const svg = X.svg("svg", { width: W + 220, height: y(m.nodes.length) + 10, id: "graph" });
  // the input
  const inp = X.svg("g", { class: "node" });
  inp.append(X.svg("rect", { x: 10, y: 4, width: W, height: H, rx: 5 }));
  inp.append(Object.assign(X.svg("text", { x: 20, y: 23 }), { textContent: `input ${m.input_shape.join("x")}` }));
  svg.append(inp);
  const cy = (id) => (id === "input" ? 4 + H / 2 : y(id) + H / 2);
  const ey = (id) => (id === "input" ? 4 + H : y(id) + H);
  // edges: neighbours straight down the left side; skips as arcs on the right
  const skips = {};
  for (const e of m.edges) {
    const from = e.from === "input" ? -1 : e.from;
    if (e.to - from === 1) {
      svg.append(X.svg("line", { x1: 40, y1: ey(e.from), x2: 40, y2: y(e.to), stroke: "#9aa3b5", "stroke-width": 1.5 }));
    } else {
      const depth = (skips[e.to] = (skips[e.to] || 0) + 1);
      const x0 = W + 10, bend = W + 10 + 18 + 14 * ((e.to + depth) % 5);
      svg.append(X.svg("path", { d: `M${x0},${cy(e.from)} C${bend},${cy(e.from)} ${bend},${cy(e.to)} ${x0},${cy(e.to)}`,
        fill: "none", stroke: "#e0562b", "stroke-width": 1.5, class: "skip" }));
    }
  }
  const select = (n, g) => {
    svg.querySelectorAll(".node").forEach((q) => q.classList.remove("sel"));
    g.classList.add("sel");
    const rows = [
      ["layer", n.name], ["type", n.type], ["input", n.input_shape && n.input_shape.join(" x ")],
      ["output", n.output_shape && n.output_shape.join(" x ")],
      ["k / s / p", n.kernel === null ? "" : `${n.kernel} / ${n.stride} / ${n.padding}` + (n.groups > 1 ? ` groups ${n.groups}` : "")],
      ["parameters", X.int(n.params) + (n.shared ? " (shared)" : "")], ["formula", n.formula],
      ["mult-adds", X.int(n.mult_adds)], ["receptive field", n.rf === null ? "" : `${n.rf}` + (n.rf_note ? ` (${n.rf_note})` : "")],
      ["jump", n.jump === null ? "(flattened)" : n.jump], ["merge", n.merge ? `${n.merge} of ${m.edges.filter((e) => e.to === n.id).length} branches` : ""],
    ];
    const t = X.el("table");
    for (const [k, v] of rows) if (v !== "" && v !== null && v !== undefined) t.append(X.el("tr", {}, X.el("td", { class: "muted", text: k }), X.el("td", { class: "mono", text: String(v), id: `d-${k.replace(/\W+/g, "-")}` })));
    const link = X.el("a", { href: `#image/${encodeURIComponent(n.name)}`, text: "see this layer's feature maps →" });
    X.put(details, X.el("h3", { text: n.name }), t, X.el("p", {}, link));
    S.layer = n.name;
  };
  m.nodes.forEach((n) => {
    const conv = n.type.startsWith("Conv");
    const g = X.svg("g", { class: `node${conv ? " conv" : ""}${n.merge ? " merge" : ""}`, "data-name": n.name });
    g.append(X.svg("rect", { x: 10, y: y(n.id), width: W, height: H, rx: 5 }));
    const label = `${n.merge ? (n.merge === "add" ? "⊕ add → " : "⧺ concat → ") : ""}${n.name} ${n.type}`;
    g.append(Object.assign(X.svg("text", { x: 20, y: y(n.id) + 13 }), { textContent: label }));
    const sub = `${(n.output_shape || []).slice(1).join("x")}  ${n.params ? X.int(n.params) + " params" : ""}  rf ${n.rf ?? ""}`;
    g.append(Object.assign(X.svg("text", { x: 20, y: y(n.id) + 26, fill: "#6b7385" }), { textContent: sub }));
    g.addEventListener("click", () => select(n, g));
    svg.append(g);
  });
  const legend = X.el("p", { class: "legend muted" }, X.el("span", { text: "blue: convolutions" }),
    X.el("span", { text: "orange arcs: skip connections (residual add / concat)" }));
  root.append(legend, X.el("div", { class: "row" }, X.el("div", { class: "card" }, svg),
    X.el("div", { style: "position: sticky; top: 60px; min-width: 320px" }, details)));
};

// ------------------------------------------------------------------ Image
const scaleFor = (h, target) => Math.max(1, Math.floor(target / h));

PAGES.image = async (root, [layerArg]) => {
  const run = S.run;
  const left = X.el("div", { class: "card", style: "max-width: 420px" });
  const main = X.el("div", { style: "flex: 1; min-width: 520px" });
  root.append(X.el("h2", { text: "An image through the network" }), X.el("div", { class: "row" }, left, main));
  // test images and upload
  const thumbs = X.el("div", { class: "thumbs", id: "thumbs" });
  left.append(X.el("h3", { text: "Test images" }), thumbs);
  const file = X.el("input", { type: "file", id: "upload", accept: "image/png,image/jpeg" });
  left.append(X.el("h3", { text: "Or upload your own" }), file,
    X.el("p", { class: "muted", text: "PNG or JPEG, up to 10 MB; converted the way `foveanet predict` converts it." }));
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    const f = file.files[0];
    try {
      const ov = await api("/api/images", { method: "POST", body: f, headers: { "Content-Type": f.type || "application/octet-stream" } });
      showError("");
      await showImage(ov);
    } catch (e) { showError(`upload: ${e.message}`); }
  });
  try {
    const t = await api("/api/images?count=32");
    t.images.forEach((im) => {
      const c = X.image(im.image, 1, { label: im.class });
      c.title = `${im.id}: ${im.class}`; c.dataset.id = im.id;
      c.addEventListener("click", async () => { await select(im.id); });
      thumbs.append(c);
    });
  } catch (e) { thumbs.append(X.el("p", { class: "muted", text: e.message })); }

  const select = async (id) => {
    thumbs.querySelectorAll("canvas").forEach((c) => c.classList.toggle("sel", c.dataset.id === id));
    await showImage(await api(`/api/images/${id}`));
  };

  const showImage = async (ov) => {
    S.image = ov.id;
    const [ch, h, w] = ov.image.shape;
    const sc = scaleFor(h, 168);
    const input = X.image(ov.image, sc, { label: "input" });
    input.id = "input-canvas";
    const top = X.el("table", { class: "topk", id: "topk" });
    for (const t of ov.topk) {
      top.append(X.el("tr", {}, X.el("td", { text: t.name }), X.el("td", {}, X.el("span", { class: "bar", style: `width:${Math.round(120 * t.p)}px` })),
        X.el("td", { class: "num", text: (100 * t.p).toFixed(1) + "%" })));
    }
    const sal = X.decode(ov.saliency);
    const salC = X.canvas(sal.data, h, w, sc, { cmap: X.heat, label: "|dscore/dx|" });
    const parts = [X.el("figure", {}, input, X.el("figcaption", { text: ov.label_name ? `input (true: ${ov.label_name})` : "input (converted)" })),
      X.el("div", {}, X.el("h3", { text: S.run && S.run.kind === "segment" ? "Share of the pixels" : "Top classes" }), top),
      X.el("figure", {}, salC, X.el("figcaption", { text: "saliency |d score / d input|" }))];
    if (ov.grad_cam) {
      const cam = X.decode(ov.grad_cam);
      parts.push(X.el("figure", {}, X.canvas(cam.data, h, w, sc, { cmap: X.heat, label: "Grad-CAM" }),
        X.el("figcaption", { text: `Grad-CAM on ${ov.cam_layer}` })));
    }
    const notes = ov.notes.map((n) => X.el("p", { class: "muted", text: n }));
    const layers = X.el("div", { class: "layers", id: "layers" });
    ov.layers.forEach((l) => {
      const b = X.el("button", { text: `${l.name} ${l.type} ${l.shape.join("x")}`, "data-layer": l.name });
      b.addEventListener("click", () => showLayer(l.name));
      layers.append(b);
    });
    const mapsBox = X.el("div", { id: "maps-box" });
    const dotBox = X.el("div", { id: "dot-box" });
    X.put(main, X.el("div", { class: "card row" }, ...parts), ...notes,
      X.el("div", { class: "card" }, X.el("h3", { text: "Layers (click one for its feature maps)" }), layers, mapsBox, dotBox));
    const showLayer = async (name) => {
      layers.querySelectorAll("button").forEach((b) => b.classList.toggle("sel", b.dataset.layer === name));
      S.layer = name;
      const r = await api(`/api/images/${ov.id}/layers/${encodeURIComponent(name)}?count=16`);
      const a = X.decode(r.maps);
      const grid = X.el("div", { class: "maps", id: "maps" });
      if (r.shape.length === 3) {
        const [c, hh, ww] = r.shape, n = a.shape[0];
        const s = scaleFor(hh, 84);
        for (let k = 0; k < n; k++) {
          const chan = r.start + k;
          const cv = X.canvas(a.data, hh, ww, s, { offset: k * hh * ww, label: `ch ${chan}`, symmetric: false,
            onclick: r.conv ? (yy, xx) => showDot(name, chan, yy, xx) : null });
          cv.dataset.channel = chan;
          grid.append(X.el("figure", {}, cv, X.el("figcaption", { text: `${chan}` })));
        }
        X.put(mapsBox, X.el("h3", { text: `${name} (${r.type}) output ${r.shape.join(" x ")}${c > n ? `, first ${n} channels` : ""}` }),
          r.conv ? X.el("p", { class: "muted", text: "Click a pixel of a map: its receptive field and the dot product that made it." }) : null, grid);
      } else {
        const v = a.data, n = v.length;
        const cv = X.canvas(v, 1, n, Math.max(2, Math.floor(600 / n)), { cmap: X.heat, label: name });
        cv.style.height = "24px";
        X.put(mapsBox, X.el("h3", { text: `${name} (${r.type}) output ${r.shape.join(" x ")}` }), cv);
      }
      X.put(dotBox);
    };
    const showDot = async (name, c, yy, xx) => {
      const d = await api(`/api/images/${ov.id}/layers/${encodeURIComponent(name)}/pixel?c=${c}&y=${yy}&x=${xx}`);
      // redraw the input with the receptive field
      const fresh = X.image(ov.image, sc, { label: "input" });
      fresh.id = "input-canvas";
      input.replaceWith(fresh);
      if (d.receptive_field) { const b = d.receptive_field; X.box(fresh, b.top, b.left, b.bottom, b.right); }
      const win = [], filt = [];
      d.window.forEach((plane, k) => { win.push(X.el("div", {}, X.el("span", { class: "muted", text: `in ch ${k}` }), X.table(plane))); filt.push(X.el("div", {}, X.el("span", { class: "muted", text: `in ch ${k}` }), X.table(plane.map((row, i) => row.map((_, j) => d.filter[k][i][j]))))); });
      const rf = d.receptive_field;
      const act = d.activation ? `${d.activation.type}(z) = ${X.fmt(d.activation.value)}  (${d.activation.layer})` : "no activation right after this layer";
      X.put(dotBox, X.el("h3", { text: `${name}, channel ${c}, output pixel (y=${yy}, x=${xx})` }),
        X.el("p", { class: "mono", id: "rf-text", text: rf ? `receptive field: input rows ${rf.top}..${rf.bottom}, columns ${rf.left}..${rf.right}` : "" }),
        X.el("div", { class: "row" },
          X.el("div", {}, X.el("b", { text: `window (input rows ${d.input_rows[0]}..${d.input_rows[d.input_rows.length - 1]}, zero outside)` }), ...win),
          X.el("div", {}, X.el("b", { text: "filter" }), ...filt)),
        d.shown_channels < d.in_channels ? X.el("p", { class: "muted", text: `first ${d.shown_channels} of ${d.in_channels} input channels shown; the sum uses all` }) : null,
        X.el("p", { class: "mono" }, "sum(window × filter) = ", X.el("span", { id: "dot-sum", text: X.fmt(d.sum_products, 6) }),
          "   + bias ", X.el("span", { id: "dot-bias", text: X.fmt(d.bias, 6) }), "   = z = ", X.el("b", { id: "dot-z", text: X.fmt(d.z, 6) })),
        X.el("p", { class: "mono" }, "the layer's output there: ", X.el("span", { id: "dot-output", text: X.fmt(d.output, 6) }),
          "   ·   ", X.el("span", { id: "dot-activation", text: act })));
    };
    if (layerArg) await showLayer(layerArg);
  };
  const first = layerArg ? (S.image || "test-0") : (S.image || "test-0");
  try { await select(first); } catch (e) {
    main.append(X.el("p", { class: "muted", text: `${e.message}` }));
  }
};

// ------------------------------------------------------------------ Filters
PAGES.filters = async (root) => {
  const f = await api("/api/filters");
  root.append(X.el("h2", { text: "Filters: learned and classic" }));
  const learned = X.el("div", { class: "card", id: "learned" });
  for (const l of f.layers) {
    const a = X.decode(l.weights);
    const [o, i, kh, kw] = a.shape;
    const grid = X.el("div", { class: "maps" });
    const s = Math.max(3, Math.floor(40 / kh));
    // a first layer on RGB images: each filter as a colour picture (its own min..max)
    const rgb = l.shape[1] === 3;
    for (let k = 0; k < o; k++) {
      const cv = X.canvas(a.data, kh, kw, s, { offset: k * i * kh * kw, symmetric: !rgb, cmap: X.diverge,
        label: `${l.name} filter ${k}${i > 1 && !rgb ? ", in ch 0" : ""}`, rgb });
      grid.append(X.el("figure", {}, cv, X.el("figcaption", { text: `${k}` })));
    }
    const how = rgb ? "as RGB, each scaled to its own range" : `input channel 0, blue negative, red positive`;
    learned.append(X.el("h3", { text: `${l.name}: ${l.shape.join(" x ")} (out x in x k x k)${l.shape[0] > o ? `, first ${o}` : ""}; ${how}` }), grid);
  }
  const classic = X.el("div", { class: "card", id: "classic" });
  root.append(X.el("div", { class: "row" }, learned, classic));
  const img = S.image || "test-0";
  try {
    const c = await api(`/api/filters/classic/${img}`);
    const [ch, h, w] = c.image.shape;
    const sc = scaleFor(h, 96);
    const grid = X.el("div", { class: "maps" });
    grid.append(X.el("figure", {}, X.image(c.image, sc), X.el("figcaption", { text: "image" })));
    for (const q of c.filters) {
      const r = X.decode(q.response);
      const d = q.display === "abs" ? Array.from(r.data, Math.abs) : r.data;
      const cv = X.canvas(d, h, w, sc, q.display === "abs" ? { label: q.name } : { lo: 0, hi: 1, label: q.name });
      cv.title = q.kernel.map((row) => row.map((v) => X.fmt(v, 3)).join(" ")).join("\n");
      grid.append(X.el("figure", {}, cv, X.el("figcaption", { text: q.name })));
    }
    classic.append(X.el("h3", { text: `Classic 3x3 filters (foveanet.vision.filters) on ${img}` }), grid,
      X.el("p", { class: "muted", text: "Hover a picture for the response values, or its name for the kernel." }));
  } catch (e) { classic.append(X.el("p", { class: "muted", text: e.message })); }
};

// ------------------------------------------------------------------ Training
PAGES.training = async (root) => {
  const t = await api("/api/training");
  const h = t.history;
  const col = (k) => h.map((e) => (e[k] === undefined ? null : e[k]));
  root.append(X.el("h2", { text: `Training: test accuracy ${t.test_accuracy === null || t.test_accuracy === undefined ? "?" : (100 * t.test_accuracy).toFixed(2) + "%"}, best epoch ${t.best_epoch ?? "?"} (by ${t.selected_by || "?"})` }));
  const charts = X.el("div", { class: "card row", id: "curves" },
    X.chart("loss", [{ name: "train", values: col("train_loss"), colour: "#2f6fde" }, { name: "val", values: col("val_loss"), colour: "#e0562b" }, { name: "test", values: col("test_loss"), colour: "#3a9a4a" }]),
    X.chart("accuracy", [{ name: "train", values: col("train_accuracy"), colour: "#2f6fde" }, { name: "val", values: col("val_accuracy"), colour: "#e0562b" }, { name: "test", values: col("test_accuracy"), colour: "#3a9a4a" }]));
  root.append(charts);
  const classes = t.classes || [];
  const per = X.el("div", { class: "card", id: "per-class" }, X.el("h3", { text: "Per-class accuracy (test recall)" }));
  (t.per_class_accuracy || []).forEach((v, i) => per.append(X.el("div", {}, X.el("span", { class: "mono", style: "display:inline-block;width:110px", text: classes[i] || i }),
    X.el("span", { class: "bar", style: `width:${Math.round(160 * v)}px` }), X.el("span", { class: "num", text: ` ${(100 * v).toFixed(1)}%` }))));
  const cmBox = X.el("div", { class: "card", id: "confusion" }, X.el("h3", { text: "Confusion matrix (rows: true, columns: predicted)" }));
  const base = X.el("div", { class: "card" }, X.el("h3", { text: "Baseline" }));
  if (t.baseline) {
    const rows = Array.isArray(t.baseline) ? t.baseline : [t.baseline];
    for (const b of rows) base.append(X.el("p", { class: "mono", text: `${b.name || b.model}: ${(100 * b.test_accuracy).toFixed(2)}%` }));
  } else base.append(X.el("p", { class: "muted", text: "none in this run (foveanet baseline --out RUN/baseline.json adds one)" }));
  root.append(X.el("div", { class: "row" }, cmBox, per, base));
  const conf = X.el("div", { class: "card", id: "confused" }, X.el("h3", { text: "Most confused test images" }), X.el("p", { class: "muted", text: "computing…" }));
  root.append(conf);
  const c = await api("/api/training/confused");
  const cm = c.confusion, mx = Math.max(...cm.flat());
  const tab = X.el("table", { class: "cm" });
  tab.append(X.el("tr", {}, X.el("th"), ...classes.map((_, j) => X.el("th", { text: j }))));
  cm.forEach((row, i) => {
    const tr = X.el("tr", {}, X.el("th", { text: `${classes[i] || i} ${i}` }));
    row.forEach((v, j) => {
      const a = mx ? v / mx : 0;
      const td = X.el("td", { text: v, style: `background: rgba(${i === j ? "47,111,222" : "224,86,43"}, ${0.08 + 0.8 * a}); color: ${a > 0.6 ? "#fff" : "#1d2330"}` });
      td.addEventListener("mousemove", (ev) => X.showTip(ev, `true ${classes[i]}, predicted ${classes[j]}: ${v}`));
      td.addEventListener("mouseleave", X.hideTip);
      tr.append(td);
    });
    tab.append(tr);
  });
  cmBox.append(tab, X.el("p", { class: "muted", id: "cm-accuracy", text: `accuracy of these weights on the test split: ${(100 * c.accuracy).toFixed(2)}%` }));
  X.put(conf, conf.firstChild);
  for (const p of c.pairs) {
    const row = X.el("div", { class: "maps" });
    for (const e of p.examples) {
      const cv = X.image(e.image, 2, { label: e.id });
      cv.title = `${e.id}: p(${classes[p.pred]}) = ${e.p.toFixed(3)}`;
      cv.addEventListener("click", () => { S.image = e.id; location.hash = "#image"; });
      row.append(X.el("figure", {}, cv, X.el("figcaption", { text: e.p.toFixed(2) })));
    }
    conf.append(X.el("p", { text: `${classes[p.true]} taken for ${classes[p.pred]}: ${p.count} images` }), row);
  }
};

// ------------------------------------------------------------------ Segmentation
const CLASS_COLOURS = ["#000000", "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#fabebe"];
const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function maskCanvas(mask, image, scale, classes) {
  const h = mask.length, w = mask[0].length;
  const c = X.el("canvas", { width: w * scale, height: h * scale });
  const g = c.getContext("2d"), img = g.createImageData(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x, k = mask[y][x], col = rgbOf(CLASS_COLOURS[k % CLASS_COLOURS.length]), v = 255 * image[i];
    const a = k === 0 ? 0 : 0.55;
    for (let j = 0; j < 3; j++) img.data[4 * i + j] = (1 - a) * v + a * col[j];
    img.data[4 * i + 3] = 255;
  }
  const tmp = X.el("canvas", { width: w, height: h });
  tmp.getContext("2d").putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false; g.drawImage(tmp, 0, 0, w * scale, h * scale);
  c.addEventListener("mousemove", (ev) => {
    const r = c.getBoundingClientRect();
    const x = Math.min(w - 1, Math.floor((ev.clientX - r.left) / r.width * w)), y = Math.min(h - 1, Math.floor((ev.clientY - r.top) / r.height * h));
    X.showTip(ev, `(y=${y}, x=${x}) ${classes[mask[y][x]]}`);
  });
  c.addEventListener("mouseleave", X.hideTip);
  return c;
}

PAGES.segment = async (root) => {
  root.append(X.el("h2", { text: "Segmentation: predicted against true masks" }));
  const thumbs = X.el("div", { class: "thumbs", id: "thumbs" });
  const main = X.el("div", { class: "card", id: "seg", style: "flex: 1" });
  root.append(X.el("div", { class: "row" }, X.el("div", { class: "card" }, X.el("h3", { text: "Test scenes" }), thumbs), main));
  const t = await api("/api/images?count=24");
  const show = async (id) => {
    thumbs.querySelectorAll("canvas").forEach((c) => c.classList.toggle("sel", c.dataset.id === id));
    const r = await api(`/api/segment/${id}`);
    const im = X.decode(r.image), h = r.pred.length, sc = scaleFor(h, 256);
    const figs = [X.el("figure", {}, X.image(r.image, sc), X.el("figcaption", { text: "scene" })),
      X.el("figure", {}, maskCanvas(r.pred, im.data, sc, r.classes), X.el("figcaption", { text: "predicted (one view)" }))];
    if (r.true) figs.push(X.el("figure", {}, maskCanvas(r.true, im.data, sc, r.classes), X.el("figcaption", { text: "true" })));
    const tab = X.el("table", { class: "details", id: "iou" }, X.el("tr", {}, X.el("th", { text: "class" }), X.el("th", { text: "IoU here" }), X.el("th", { text: "IoU (run, test)" })));
    const runPer = (r.run_metrics || {}).per_class_iou || [];
    const runIou = Array.isArray(runPer) ? runPer : r.classes.map((name) => runPer[name]);
    r.classes.forEach((name, k) => tab.append(X.el("tr", {},
      X.el("td", {}, X.el("span", { style: `display:inline-block;width:10px;height:10px;background:${CLASS_COLOURS[k]}` }), ` ${name}`),
      X.el("td", { class: "num", text: r.iou && r.iou[k] !== null ? r.iou[k].toFixed(3) : "–" }),
      X.el("td", { class: "num", text: runIou[k] !== undefined && runIou[k] !== null ? (+runIou[k]).toFixed(3) : "–" }))));
    const miou = r.run_metrics && r.run_metrics.miou !== undefined && r.run_metrics.miou !== null ? `run test mIoU ${(+r.run_metrics.miou).toFixed(3)} (views: ${r.run_metrics.tta})` : "";
    const hist = (r.run_metrics || {}).history || [];
    const col = (k) => hist.map((e) => (e[k] === undefined ? null : e[k]));
    const curves = hist.length ? X.el("div", { class: "row", id: "seg-curves" },
      X.chart("loss", [{ name: "train", values: col("train_loss"), colour: "#2f6fde" }]),
      X.chart("mIoU", [{ name: "train", values: col("train_miou"), colour: "#2f6fde" }, { name: "val", values: col("val_miou"), colour: "#e0562b" }])) : null;
    X.put(main, X.el("div", { class: "row" }, ...figs, tab), X.el("p", { class: "muted", text: miou }), curves);
  };
  t.images.forEach((im) => {
    const c = X.image(im.image, 1, { label: im.id });
    c.dataset.id = im.id; c.addEventListener("click", () => show(im.id));
    thumbs.append(c);
  });
  if (t.images.length) await show(t.images[0].id);
};

// ------------------------------------------------------------------ Text
PAGES.text = async (root) => {
  root.append(X.el("h2", { text: "Text: labels and the words each filter fired on" }));
  const box = X.el("textarea", { id: "doc", rows: 6, style: "width: 100%" });
  const go = X.el("button", { id: "analyse", text: "Analyse" });
  const list = X.el("div", { id: "examples" });
  const out = X.el("div", { id: "text-out" });
  root.append(X.el("div", { class: "row" }, X.el("div", { class: "card", style: "flex: 1; min-width: 480px" }, box, go, out),
    X.el("div", { class: "card", style: "max-width: 420px" }, X.el("h3", { text: "Test documents" }), list)));
  const run = async () => {
    const r = await api(`/api/text/analyse?q=${encodeURIComponent(box.value)}`);
    const labels = X.el("table", { class: "topk", id: "labels" });
    r.labels.forEach((l) => labels.append(X.el("tr", {}, X.el("td", { text: l.label }), X.el("td", {}, X.el("span", { class: "bar", style: `width:${Math.round(120 * l.p)}px` })), X.el("td", { class: "num", text: l.p.toFixed(3) }))));
    const filters = X.el("div", { id: "filters" });
    r.filters.forEach((f, i) => {
      const on = new Set(f.span);
      const words = X.el("p", { class: "words" });
      r.tokens.forEach((w, j) => { words.append(X.el("span", { class: on.has(j) ? `hit f${i % 3}` : "", text: w }), " "); });
      filters.append(X.el("h3", { text: `filter ${f.filter} (width ${f.width}): max ${X.fmt(f.value)} at word ${f.position}: “${f.words.join(" ")}”` }), words);
    });
    X.put(out, X.el("h3", { text: "Predicted labels" }), labels, X.el("p", { class: "muted", text: `filters ranked by ${r.ranked_by}` }), filters);
  };
  go.addEventListener("click", () => run().catch((e) => showError(e.message)));
  try {
    const ex = await api("/api/text/examples");
    ex.documents.forEach((d) => list.append(X.el("p", {}, X.el("a", { href: "javascript:void 0", text: d.text.slice(0, 80) + "…", onclick: () => { box.value = d.text; run().catch((e) => showError(e.message)); } }),
      X.el("br"), X.el("span", { class: "muted", text: d.labels.join(", ") }))));
    if (ex.documents.length) { box.value = ex.documents[0].text; await run(); }
  } catch (e) { list.append(X.el("p", { class: "muted", text: e.message })); }
};
