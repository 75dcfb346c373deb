// The conv playground: the lecture's output-size formula and foveanet's conv2d, live.
"use strict";

PAGES.playground = async (root) => {
  const P = { n: 6, f: 3, p: 0, s: 1, d: 1, cin: 1, cout: 1, op: "conv", preset: "edge" };
  const limits = { n: [1, 16], f: [1, 7], p: [0, 4], s: [1, 4], d: [1, 3], cin: [1, 8], cout: [1, 8] };
  const names = { n: "n (input)", f: "f (filter)", p: "p (padding)", s: "s (stride)", d: "d (dilation)", cin: "in channels", cout: "filters" };
  const controls = X.el("div", { class: "card", id: "pg-controls" });
  const out = X.el("div", { class: "card", id: "pg-out", style: "flex: 1" });
  root.append(X.el("h2", { text: "Conv playground" }), X.el("div", { class: "row" }, controls, out));
  const presets = X.el("div", { class: "presets" },
    X.el("button", { id: "preset-edge", text: "lecture: 6x6 * 3x3 edge", onclick: () => { P.preset = "edge"; update(); } }),
    X.el("button", { id: "preset-pool", text: "lecture: 2x2 max pool", onclick: () => { P.preset = "pool"; update(); } }));
  controls.append(X.el("h3", { text: "Presets" }), presets, X.el("h3", { text: "Settings" }));
  const op = X.el("select", { id: "pg-op" }, X.el("option", { value: "conv", text: "convolution" }), X.el("option", { value: "pool", text: "max pooling" }));
  op.addEventListener("change", () => { P.op = op.value; P.preset = ""; update(); });
  controls.append(X.el("div", { class: "slider" }, X.el("span", { text: "operation" }), op, X.el("span")));
  const inputs = {};
  for (const k of Object.keys(limits)) {
    const r = X.el("input", { type: "range", min: limits[k][0], max: limits[k][1], value: P[k], id: `pg-${k}` });
    const v = X.el("span", { class: "num", text: P[k] });
    r.addEventListener("input", () => { P[k] = +r.value; v.textContent = r.value; P.preset = ""; update(); });
    inputs[k] = [r, v];
    controls.append(X.el("div", { class: "slider" }, X.el("label", { for: `pg-${k}`, text: names[k] }), r, v));
  }
  let timer = null, pos = 0, seq = 0;
  const anim = X.el("button", { id: "pg-animate", text: "▶ slide the window" });
  controls.append(X.el("p", {}, anim));
  anim.addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; anim.textContent = "▶ slide the window"; return; }
    anim.textContent = "❚❚ stop";
    timer = setInterval(() => { pos += 1; draw(); }, 700);
  });
  let R = null;
  const update = async () => {
    const q = P.preset ? `preset=${P.preset}` : Object.entries(P).filter(([k]) => k !== "preset").map(([k, v]) => `${k}=${v}`).join("&");
    const mine = ++seq;
    try {
      const r = await api(`/api/playground?${q}`);
      if (mine !== seq) return;        // a later slider move already asked again
      R = r; pos = 0; showError("");
      for (const k of Object.keys(limits)) { inputs[k][0].value = r[k]; inputs[k][1].textContent = r[k]; }
      op.value = r.op;
      draw();
    } catch (e) {
      if (mine !== seq) return;
      showError(e.message);
      X.put(out, X.el("p", { class: "muted", id: "pg-size", text: e.message }));
    }
  };
  const draw = () => {
    const r = R, m = r.output_size, total = m * m;
    const k = pos % total, oy = Math.floor(k / m), ox = k % m;
    const inWin = new Set();
    for (let i = 0; i < r.f; i++) for (let j = 0; j < r.f; j++) inWin.add(`${oy * r.s + i * r.d},${ox * r.s + j * r.d}`);
    const n2 = r.n + 2 * r.p;
    const big = n2 <= 16;
    const grid = X.table(r.input[0], (i, j) => [(i < r.p || j < r.p || i >= r.n + r.p || j >= r.n + r.p) ? "pad" : "", inWin.has(`${i},${j}`) ? "win" : ""].join(" "), 2);
    grid.id = "pg-input";
    if (!big) grid.style.fontSize = "8px";
    const outT = X.table(r.output[0], (i, j) => (i === oy && j === ox ? "cur" : ""), 3);
    outT.id = "pg-output";
    outT.querySelectorAll("td").forEach((td, i) => td.addEventListener("click", () => { pos = i; draw(); }));
    let sum = "";
    if (r.op === "conv") {
      const terms = [];
      for (let c = 0; c < Math.min(r.cin, r.input.length); c++)
        for (let i = 0; i < r.f; i++) for (let j = 0; j < r.f; j++) {
          const v = r.input[c][oy * r.s + i * r.d][ox * r.s + j * r.d], w = r.filters[0][c][i][j];
          if (w !== 0) terms.push(`${X.fmt(v)}·${w < 0 ? "(" + X.fmt(w) + ")" : X.fmt(w)}`);
        }
      sum = `output[0][${oy}][${ox}] = ${terms.slice(0, 24).join(" + ")}${terms.length > 24 ? " + …" : ""} = ${X.fmt(r.output[0][oy][ox])}`;
    } else {
      sum = `output[0][${oy}][${ox}] = max of the window = ${X.fmt(r.output[0][oy][ox])}`;
    }
    const filt = r.filters ? X.el("div", {}, X.el("b", { text: "filter 0 (channel 0)" }), X.table(r.filters[0][0], () => "", 2)) : null;
    X.put(out, 
      X.el("p", { class: "mono" }, "output size: ", X.el("b", { id: "pg-size", text: `${r.output_size} x ${r.output_size}` }), ` (x ${r.cout} channels)`),
      X.el("p", { class: "mono", id: "pg-formula", text: r.formula }),
      X.el("p", { class: "mono" }, "parameters: ", X.el("span", { id: "pg-params", text: r.params })),
      X.el("div", { class: "row" },
        X.el("div", {}, X.el("b", { text: `input ${r.n}x${r.n}${r.p ? ` padded by ${r.p} (grey)` : ""}, channel 0` }), grid),
        filt,
        X.el("div", {}, X.el("b", { text: `output (foveanet ${r.op === "conv" ? "conv2d" : "max_pool2d"}), channel 0` }), outT)),
      X.el("p", { class: "mono", id: "pg-sum", text: sum }),
      X.el("p", { class: "muted", text: "Click an output cell to see its window; the numbers are foveanet's own output." }));
  };
  await update();
};
