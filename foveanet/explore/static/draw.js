// Drawing from numbers: arrays arrive as base64 float32 (payload.py), are drawn on canvases,
// and hovering a pixel shows its value.
"use strict";

const X = {};

X.el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
};

X.svg = (tag, attrs = {}) => {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

// replace an element's children, leaving out null/undefined (replaceChildren would write "null")
X.put = (e, ...kids) => e.replaceChildren(...kids.filter((k) => k != null));

// {shape, min, max, b64} -> {shape, min, max, data: Float32Array}
X.decode = (a) => {
  const bin = atob(a.b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return { shape: a.shape, min: a.min, max: a.max, data: new Float32Array(bytes.buffer) };
};

X.fmt = (v, d = 4) => {
  if (v === null || v === undefined) return "";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(d).replace(/\.?0+$/, "");
};

X.int = (v) => v.toLocaleString("en-US");

// colour maps: value in [0, 1] -> [r, g, b]
X.grey = (t) => [255 * t, 255 * t, 255 * t];
X.heat = (t) => [255 * Math.min(1, 3 * t), 255 * Math.min(1, Math.max(0, 3 * t - 1)), 255 * Math.max(0, 3 * t - 2)];
X.diverge = (t) => t < 0.5 ? [255 * 2 * t, 255 * 2 * t, 255] : [255, 255 * 2 * (1 - t), 255 * 2 * (1 - t)];

const tip = () => document.getElementById("tip");
X.hideTip = () => { tip().hidden = true; };
X.showTip = (ev, text) => {
  const t = tip();
  t.textContent = text; t.hidden = false;
  t.style.left = (ev.clientX + 12) + "px"; t.style.top = (ev.clientY + 12) + "px";
};

// Draw an (H, W) plane (or (3, H, W) as RGB) at `scale` px per value.
// opts: {offset: index of the plane's first value, cmap, lo, hi, symmetric, onclick(y, x), label}
X.canvas = (arr, h, w, scale, opts = {}) => {
  const c = X.el("canvas", { width: w * scale, height: h * scale });
  const g = c.getContext("2d");
  const img = g.createImageData(w, h);
  const off = opts.offset || 0;
  const rgb = opts.rgb === true;
  let lo = opts.lo, hi = opts.hi;
  if (lo === undefined || hi === undefined) {
    lo = Infinity; hi = -Infinity;
    const n = h * w * (rgb ? 3 : 1);
    for (let i = 0; i < n; i++) { const v = arr[off + i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    if (opts.symmetric) { const m = Math.max(Math.abs(lo), Math.abs(hi)); lo = -m; hi = m; }
  }
  const span = hi > lo ? hi - lo : 1;
  const cmap = opts.cmap || X.grey;
  for (let i = 0; i < h * w; i++) {
    let col;
    if (rgb) col = [0, 1, 2].map((k) => 255 * Math.min(1, Math.max(0, (arr[off + k * h * w + i] - lo) / span)));
    else col = cmap(Math.min(1, Math.max(0, (arr[off + i] - lo) / span)));
    img.data[4 * i] = col[0]; img.data[4 * i + 1] = col[1]; img.data[4 * i + 2] = col[2]; img.data[4 * i + 3] = 255;
  }
  const tmp = X.el("canvas", { width: w, height: h });
  tmp.getContext("2d").putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, w * scale, h * scale);
  const at = (ev) => {
    const r = c.getBoundingClientRect();
    const x = Math.floor((ev.clientX - r.left) / r.width * w), y = Math.floor((ev.clientY - r.top) / r.height * h);
    return [Math.min(h - 1, Math.max(0, y)), Math.min(w - 1, Math.max(0, x))];
  };
  c.addEventListener("mousemove", (ev) => {
    const [y, x] = at(ev);
    const v = rgb ? [0, 1, 2].map((k) => X.fmt(arr[off + k * h * w + y * w + x], 3)).join(", ") : X.fmt(arr[off + y * w + x]);
    X.showTip(ev, `${opts.label ? opts.label + " " : ""}(y=${y}, x=${x}) = ${v}`);
  });
  c.addEventListener("mouseleave", X.hideTip);
  if (opts.onclick) { c.classList.add("click"); c.addEventListener("click", (ev) => opts.onclick(...at(ev))); }
  c.dataset.h = h; c.dataset.w = w;
  return c;
};

// An image array (C, H, W) in [0, 1]: grey for 1 channel, RGB for 3.
X.image = (a, scale, opts = {}) => {
  const d = a.data || X.decode(a).data, [ch, h, w] = a.shape;
  return X.canvas(d, h, w, scale, { lo: 0, hi: 1, rgb: ch === 3, ...opts });
};

// Outline a box (inclusive pixel indices) on a canvas drawn at `scale`.
X.box = (c, top, left, bottom, right, colour = "#e0562b") => {
  const g = c.getContext("2d"), s = c.width / +c.dataset.w;
  g.strokeStyle = colour; g.lineWidth = 2;
  g.setLineDash(top < 0 || left < 0 || bottom >= +c.dataset.h || right >= +c.dataset.w ? [4, 3] : []);
  g.strokeRect(left * s + 1, top * s + 1, (right - left + 1) * s - 2, (bottom - top + 1) * s - 2);
};

// A small matrix as an HTML table of numbers (cls per cell optional).
X.table = (rows, cls = () => "", digits = 3) => {
  const t = X.el("table", { class: "grid" });
  rows.forEach((r, i) => {
    const tr = X.el("tr");
    r.forEach((v, j) => tr.append(X.el("td", { class: cls(i, j), text: v === null ? "-∞" : X.fmt(v, digits) })));
    t.append(tr);
  });
  return t;
};

// Line chart: series [{name, values:[...], colour}] over x = 1..n
X.chart = (title, series, w = 360, h = 200) => {
  const s = X.svg("svg", { width: w, height: h, class: "chart" });
  const all = series.flatMap((q) => q.values.filter((v) => v !== null && v !== undefined));
  if (!all.length) return X.el("p", { class: "muted", text: `${title}: no numbers` });
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { hi += 0.5; lo -= 0.5; }
  const n = Math.max(...series.map((q) => q.values.length));
  const L = 44, R = 10, T = 20, B = 24;
  const px = (i) => L + (n > 1 ? i / (n - 1) : 0.5) * (w - L - R);
  const py = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  s.append(Object.assign(X.svg("text", { x: L, y: 13, "font-weight": "bold" }), { textContent: title }));
  s.append(X.svg("line", { x1: L, y1: h - B, x2: w - R, y2: h - B, stroke: "#999" }));
  s.append(X.svg("line", { x1: L, y1: T, x2: L, y2: h - B, stroke: "#999" }));
  for (const v of [lo, hi]) s.append(Object.assign(X.svg("text", { x: 2, y: py(v) + 4 }), { textContent: X.fmt(v, 3) }));
  s.append(Object.assign(X.svg("text", { x: w - R - 40, y: h - 6 }), { textContent: `epoch ${n}` }));
  series.forEach((q, k) => {
    const pts = q.values.map((v, i) => (v === null || v === undefined ? null : `${px(i)},${py(v)}`)).filter(Boolean);
    s.append(X.svg("polyline", { points: pts.join(" "), fill: "none", stroke: q.colour, "stroke-width": 2 }));
    q.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const dot = X.svg("circle", { cx: px(i), cy: py(v), r: 3, fill: q.colour });
      dot.addEventListener("mousemove", (ev) => X.showTip(ev, `${q.name} epoch ${i + 1}: ${X.fmt(v)}`));
      dot.addEventListener("mouseleave", X.hideTip);
      s.append(dot);
    });
    s.append(Object.assign(X.svg("text", { x: L + 90 + 50 * k, y: 13, fill: q.colour }), { textContent: q.name }));
  });
  return s;
};
