// Mixture Lab view: draws the frames the kernel sends (points as arrays) on canvases.
const PAL = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#bcbd22","#17becf",
             "#aec7e8","#ffbb78","#98df8a","#ff9896","#c5b0d5","#c49c94","#f7b6d2","#dbdb8d","#9edae5"];
const col = (k) => PAL[((k % PAL.length) + PAL.length) % PAL.length];

function heat(v) {            // v in [0, 1] -> blue (fake) .. white .. red (real)
  const t = Math.max(0, Math.min(1, v));
  const a = t < 0.5 ? t * 2 : (1 - t) * 2;
  return t < 0.5 ? [Math.round(60 + 195 * a), Math.round(110 + 145 * a), 255]
                 : [255, Math.round(110 + 145 * a), Math.round(60 + 195 * a)];
}

function drawData(ctx, W, f, real, showArrows) {
  ctx.clearRect(0, 0, W, W);
  const lo = f.lo, hi = f.hi, sx = (x) => (x - lo) / (hi - lo) * W, sy = (y) => W - (y - lo) / (hi - lo) * W;
  const G = f.G, c = f.critic;
  if (G && c.length === G * G) {
    let mn = Infinity, mx = -Infinity;
    for (const v of c) { if (v < mn) mn = v; if (v > mx) mx = v; }
    const off = document.createElement("canvas"); off.width = G; off.height = G;
    const octx = off.getContext("2d"), img = octx.createImageData(G, G);
    for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) {
      const rgb = heat((c[i * G + j] - mn) / (mx - mn + 1e-12)), p = ((G - 1 - i) * G + j) * 4;
      img.data[p] = rgb[0]; img.data[p + 1] = rgb[1]; img.data[p + 2] = rgb[2]; img.data[p + 3] = 140;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true; ctx.drawImage(off, 0, 0, W, W);
  }
  ctx.fillStyle = "rgba(30,30,30,0.35)";
  for (let i = 0; i < real.length; i += 2) ctx.fillRect(sx(real[i]) - 1, sy(real[i + 1]) - 1, 2, 2);
  const fk = f.fake, g = f.gen;
  for (let i = 0; i < fk.length; i += 2) {
    ctx.fillStyle = col(g[i / 2]);
    ctx.beginPath(); ctx.arc(sx(fk[i]), sy(fk[i + 1]), 2.6, 0, 6.283); ctx.fill();
  }
  if (showArrows && f.arrows) {
    const a = f.arrows; let m = 1e-12;
    for (let i = 0; i < a.length; i += 4) m = Math.max(m, Math.hypot(a[i + 2], a[i + 3]));
    ctx.strokeStyle = "rgba(0,0,0,0.7)"; ctx.lineWidth = 1;
    for (let i = 0; i < a.length; i += 4) {
      const x0 = sx(a[i]), y0 = sy(a[i + 1]), x1 = x0 + a[i + 2] / m * 25, y1 = y0 - a[i + 3] / m * 25;
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    }
  }
}

function drawLatent(ctx, W, lat) {
  ctx.clearRect(0, 0, W, W);
  ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  if (!lat) { ctx.fillText("no latent plane (random head)", 6, W / 2); return; }
  if (lat.kind === "grid") {
    const G = lat.G, s = W / G;
    for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) {
      ctx.fillStyle = col(lat.labels[i * G + j]); ctx.fillRect(j * s, W - (i + 1) * s, s + 0.5, s + 0.5);
    }
  } else {
    const z = lat.z, sc = (v) => (v + 3) / 6 * W;
    for (let i = 0; i < z.length; i += 2) { ctx.fillStyle = col(lat.labels[i / 2]); ctx.fillRect(sc(z[i]) - 1, W - sc(z[i + 1]) - 1, 3, 3); }
  }
  ctx.fillStyle = "#000"; ctx.fillText("latent plane", 4, 12);
}

function drawBars(ctx, W, H, u) {
  ctx.clearRect(0, 0, W, H);
  const K = u.length, bw = W / Math.max(K, 1), mx = Math.max(...u, 1e-9);
  for (let k = 0; k < K; k++) { ctx.fillStyle = col(k); const h = u[k] / mx * (H - 16); ctx.fillRect(k * bw + 1, H - h, bw - 2, h); }
  ctx.fillStyle = "#000"; ctx.font = "11px sans-serif"; ctx.fillText("usage per generator", 4, 12);
}

function drawCurves(ctx, W, H, h) {
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px sans-serif";
  const line = (xs, ys, colr, lo, hi, x0, x1) => {
    if (!xs.length) return;
    ctx.strokeStyle = colr; ctx.beginPath();
    for (let i = 0; i < xs.length; i++) {
      const x = (xs[i] - x0) / (x1 - x0 || 1) * (W - 8) + 4, y = H - 4 - (ys[i] - lo) / (hi - lo || 1) * (H - 22);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    }
    ctx.stroke();
  };
  const x1 = Math.max(h.step.length ? h.step[h.step.length - 1] : 1, 1);
  const fin = (a) => a.filter(Number.isFinite);
  const l = fin(h.d.concat(h.g)), lo = Math.min(...l, 0), hi = Math.max(...l, 1e-9);
  line(h.step, h.d, "#1f77b4", lo, hi, 0, x1); line(h.step, h.g, "#ff7f0e", lo, hi, 0, x1);
  const mm = Math.max(...h.modes, 1);
  line(h.estep, h.modes, "#000", 0, mm, 0, x1); line(h.estep, h.hq, "#2ca02c", 0, 1, 0, x1);
  ctx.fillStyle = "#1f77b4"; ctx.fillText("critic loss", 4, 12); ctx.fillStyle = "#ff7f0e"; ctx.fillText("generator loss", 70, 12);
  ctx.fillStyle = "#000"; ctx.fillText("modes", 165, 12); ctx.fillStyle = "#2ca02c"; ctx.fillText("high quality", 210, 12);
}

function render({ model, el }) {
  const W = 420;
  el.classList.add("mixlab-view");
  el.style.display = "flex"; el.style.gap = "8px"; el.style.flexWrap = "wrap";
  const mk = (w, h, cls) => { const c = document.createElement("canvas"); c.width = w; c.height = h; c.className = cls;
    c.style.border = "1px solid #ccc"; return c; };
  const data = mk(W, W, "mixlab-data"), side = document.createElement("div");
  side.style.display = "flex"; side.style.flexDirection = "column"; side.style.gap = "6px"; side.style.alignItems = "flex-start";
  const lat = mk(200, 200, "mixlab-latent"), bars = mk(200, 100, "mixlab-usage"), curves = mk(300, 200, "mixlab-curves");
  const row = document.createElement("div"); row.style.display = "flex"; row.style.gap = "6px";
  row.append(lat, curves); side.append(row, bars);
  el.append(data, side);
  let pending = false;
  const redraw = () => {
    pending = false;
    const f = model.get("frame");
    if (!f || !f.fake) return;
    drawData(data.getContext("2d"), W, f, model.get("real") || [], model.get("arrows"));
    drawLatent(lat.getContext("2d"), 200, f.latent);
    drawBars(bars.getContext("2d"), 200, 100, f.usage || []);
    drawCurves(curves.getContext("2d"), 300, 200, f.hist);
    data.dataset.step = String(f.step);
    data.dataset.seq = String(f.seq || 0);                       // the kernel's frame number
    data.dataset.frames = String(Number(data.dataset.frames || 0) + 1);   // frames drawn here
  };
  const schedule = () => { if (!pending) { pending = true; requestAnimationFrame(redraw); } };
  model.on("change:frame", schedule); model.on("change:real", schedule); model.on("change:arrows", schedule);
  // drawing: click or drag in the data panel places points (kernel side keeps them)
  let down = false, buf = [];
  const toData = (ev) => { const f = model.get("frame") || { lo: -3, hi: 3 }; const r = data.getBoundingClientRect();
    const x = f.lo + (ev.clientX - r.left) / r.width * (f.hi - f.lo), y = f.lo + (1 - (ev.clientY - r.top) / r.height) * (f.hi - f.lo);
    return [x, y]; };
  const flush = () => { if (buf.length) { model.send({ type: "draw", points: buf }); buf = []; } };
  data.addEventListener("mousedown", (ev) => { if (!model.get("drawing")) return; down = true; buf.push(toData(ev)); });
  data.addEventListener("mousemove", (ev) => { if (down) { buf.push(toData(ev)); if (buf.length > 20) flush(); } });
  window.addEventListener("mouseup", () => { if (down) { down = false; flush(); } });
  schedule();
}
export default { render };
