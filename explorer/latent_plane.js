// The latent plane: one z, owned by the browser while the user moves it, committed to Python.
//
// Two components share this module:
// - the model loader (data: bytes) parses a model blob (explorer/latent_plane.py `model_blob`) into
//   window.__vaeModels[model_key]: decoder weights (float32 first layer and biases, float16 matrices),
//   the test points' means and log-variances, their labels. Sent once per model per browser session.
// - the plane (data: a small dict) draws, bottom to top: the decoded manifold (optional), the test
//   points, the prior's 1/2/3σ circles, the path and its frames, the selected point and its
//   μ ± 2σ ellipse, the encoded image's star and ellipse, the crosshair. Pointer, touch, keys,
//   sliders, clicks on points and path animation all move the same z; it goes to Python as state
//   "commit" (debounced, on release), and Python's z comes back as z0 when z0_rev changes.

const MODELS = (window.__vaeModels = window.__vaeModels || {});
const PLANES = (window.__latentPlanes = window.__latentPlanes || {});

// ---- float16 -> float32 -------------------------------------------------------------------
let F16 = null;
function f16Table() {
  if (F16) return F16;
  F16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1,
      e = (h >> 10) & 0x1f,
      m = h & 0x3ff;
    F16[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return F16;
}
function halfs(buf, off, n) {
  const t = f16Table(),
    u = new Uint16Array(buf, off, n),
    out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = t[u[i]];
  return out;
}

// ---- model blob ---------------------------------------------------------------------------
function parseBlob(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const buf = u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength); // aligned copy
  const hlen = new DataView(buf).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, hlen)));
  const arrays = {};
  for (const a of head.arrays) {
    const off = 4 + hlen + a.offset;
    if (a.dtype === "f4") arrays[a.name] = new Float32Array(buf, off, a.size);
    else if (a.dtype === "f2") arrays[a.name] = halfs(buf, off, a.size);
    else arrays[a.name] = new Uint8Array(buf, off, a.size);
  }
  const layers = head.layers.map((l, i) => ({ w: arrays["w" + i], b: arrays["b" + i], rows: l.rows, cols: l.cols }));
  return {
    head,
    layers,
    mu: arrays.mu,
    logvar2: arrays.logvar2,
    labels: arrays.labels,
    decode: makeDecoder(head, layers),
  };
}

function makeDecoder(head, layers) {
  const relu = head.activation === "relu";
  const maxWidth = Math.max(...layers.map((l) => l.rows), head.latent_dim);
  const bufA = new Float64Array(maxWidth),
    bufB = new Float64Array(maxWidth);
  // z: latent_dim numbers -> Float32Array of C*H*W pixel means in [0, 1]
  return function decode(z, out) {
    let x = bufA,
      y = bufB;
    for (let i = 0; i < head.latent_dim; i++) x[i] = z[i] || 0;
    for (let li = 0; li < layers.length; li++) {
      const { w, b, rows, cols } = layers[li];
      const last = li === layers.length - 1;
      for (let r = 0; r < rows; r++) {
        let acc = b[r];
        const off = r * cols;
        for (let c = 0; c < cols; c++) acc += w[off + c] * x[c];
        if (last) acc = 1 / (1 + Math.exp(-acc));
        else if (relu) acc = acc > 0 ? acc : 0;
        else acc = Math.tanh(acc);
        y[r] = acc;
      }
      const t = x;
      x = y;
      y = t;
    }
    const n = layers[layers.length - 1].rows;
    out = out || new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i];
    return out;
  };
}

function loaderMain(component) {
  const { data } = component;
  if (!data || !data.byteLength) return;
  const model = parseBlob(data);
  const key = model.head.model_key;
  if (!MODELS[key]) {
    MODELS[key] = model;
    window.dispatchEvent(new CustomEvent("vae-model", { detail: key }));
  }
}

// ---- the plane ----------------------------------------------------------------------------
const TICK_FONT = 14; // CSS px: every label is at least this big

function cssVar(node, name, fallback) {
  const v = getComputedStyle(node).getPropertyValue(name).trim();
  return v || fallback;
}

function luminance(color) {
  const c = document.createElement("canvas").getContext("2d");
  c.fillStyle = color;
  const hex = c.fillStyle; // normalised to #rrggbb
  if (!hex.startsWith("#")) return 1;
  const n = parseInt(hex.slice(1), 16);
  return (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
}

function el(tag, cls, parent, attrs) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

class Plane {
  constructor(root, data) {
    this.root = root;
    this.instance = data.instance;
    this.send = null;
    this.z = (data.z0 || []).slice();
    this.z0rev = data.z0_rev;
    this.pick = data.pick ?? null;
    this.have = [];
    this.path = { kind: "none", from: 0, to: 1, radius: 1.5, frames: 12, fps: 6, loop: true, center: null };
    this.frame = -1;
    this.playing = false;
    this.timer = null;
    this.commitTimer = null;
    this.times = [];
    this.eventTimes = [];
    this.frameTimes = [];
    this.frames = 0;
    this.showGrid = false;
    this.gridCanvas = null;
    this.viewRev = null;
    this.build();
    this.update(data);
  }

  // DOM, once
  build() {
    const r = this.root;
    r.innerHTML = "";
    const main = el("div", "vp-main", r);
    this.canvas = el("canvas", "vp-plane", main, { tabindex: "0" });
    this.legend = el("div", "vp-legend", main);
    const side = el("div", "vp-side", r);
    const imgBox = el("div", "vp-imgbox", side);
    this.decoded = el("canvas", "vp-decoded", imgBox);
    this.zlabel = el("div", "vp-z", side);
    this.pickLabel = el("div", "vp-pick", side);
    this.sliders = el("div", "vp-sliders", side);
    const opts = el("label", "vp-check", side);
    this.gridBox = el("input", "", opts, { type: "checkbox" });
    this.gridText = el("span", "", opts);
    this.pathBox = el("div", "vp-path", r);
    this.msg = el("div", "vp-msg", r);
    this.ctx = this.canvas.getContext("2d");
    this.dctx = this.decoded.getContext("2d");
    this.static = document.createElement("canvas");

    const c = this.canvas;
    let down = null;
    c.addEventListener("pointerdown", (e) => {
      if (!this.model) return;
      this.stop(false);
      down = { x: e.clientX, y: e.clientY, moved: false };
      c.setPointerCapture(e.pointerId);
      clearTimeout(this.commitTimer);
      this.moveToClient(e.clientX, e.clientY, e.timeStamp);
    });
    c.addEventListener("pointermove", (e) => {
      if (!down) return;
      if (Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) down.moved = true;
      const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      const last = evs.length ? evs[evs.length - 1] : e;
      this.moveToClient(last.clientX, last.clientY, e.timeStamp);
    });
    const release = (e) => {
      if (!down) return;
      const wasClick = !down.moved;
      down = null;
      if (wasClick) {
        const i = this.nearestPoint(e.clientX, e.clientY, e.pointerType === "touch" ? 22 : 10);
        if (i !== null) this.selectPoint(i); // a click on empty space only moves z
      }
      this.scheduleCommit(0);
    };
    c.addEventListener("pointerup", release);
    c.addEventListener("pointercancel", release);
    c.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 0.25 : 0.05;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
      if (!d || !this.model) return;
      e.preventDefault();
      this.stop(false);
      const z = this.z.slice();
      z[0] = this.clampZ(z[0] + d[0]);
      if (z.length > 1) z[1] = this.clampZ(z[1] + d[1]);
      this.setZ(z);
      this.scheduleCommit(300);
    });
    this.gridBox.addEventListener("change", () => {
      this.showGrid = this.gridBox.checked;
      this.drawStatic();
      this.render();
      this.scheduleCommit(0);
    });
    new ResizeObserver(() => this.resize()).observe(main);
    // A theme switch changes Streamlit's CSS variables without new data: look now and then.
    this.bgSeen = cssVar(this.root, "--st-background-color", "");
    this.themeTimer = setInterval(() => {
      if (!this.root.isConnected) {
        clearInterval(this.themeTimer);
        return;
      }
      const bg = cssVar(this.root, "--st-background-color", "");
      if (bg !== this.bgSeen) {
        this.bgSeen = bg;
        this.colors = null;
        this.gridCanvas = null;
        this.drawStatic();
        this.render();
        this.drawStrip();
      }
    }, 1000);
  }

  update(data) {
    this.data = data;
    this.t = data.texts;
    this.R = data.range;
    if (data.z0_rev !== this.z0rev || !this.z.length) {
      this.z0rev = data.z0_rev;
      this.z = (data.z0 || []).slice();
      this.pick = data.pick ?? null;
      this.stop(false);
    } else if (data.pick !== undefined && data.pick !== null && this.pick === null) {
      this.pick = data.pick;
      if (this.model && !this.atPick()) this.pick = null; // a stale selection: z has moved on since
    }
    this.gridText.textContent = this.t.grid;
    // What a link hides: the sliders, the path controls, the layer switch.
    const hide = new Set(data.hide || []);
    this.sliders.style.display = hide.has("sliders") ? "none" : "";
    this.gridBox.parentElement.style.display = hide.has("layers") ? "none" : "";
    this.pathBox.style.display = hide.has("path") ? "none" : "";
    const newView = data.view_rev !== this.viewRev;
    if (newView) {
      // A link (or a lesson step) set the path and the layers: take them as the plane's own.
      this.viewRev = data.view_rev;
      const p0 = data.path0 || {};
      for (const k of ["kind", "from", "to", "radius", "frames", "fps", "loop"])
        if (p0[k] !== undefined) this.path[k] = p0[k];
      this.path.center = null;
      this.showGrid = !!data.grid0;
      this.gridBox.checked = this.showGrid;
      this.gridCanvas = null;
    }
    const model = MODELS[data.model_key];
    if (!model) {
      this.model = null;
      this.msg.textContent = this.t.loading;
      if (!this.waiting) {
        this.waiting = (ev) => {
          if (ev.detail === this.data.model_key) this.update(this.data);
        };
        window.addEventListener("vae-model", this.waiting);
      }
      // The loader is left out when Python believes this browser has the model: ask for it.
      clearTimeout(this.askTimer);
      this.askTimer = setTimeout(() => {
        if (!this.model) this.commit(true);
      }, 1500);
      return;
    }
    this.msg.textContent = "";
    if (this.model !== model) {
      this.model = model;
      this.d = model.head.latent_dim;
      if (this.z.length !== this.d) this.z = new Array(this.d).fill(0);
      const [C, H, W] = model.head.shape;
      this.shape = [C, H, W];
      this.small = document.createElement("canvas");
      this.small.width = W;
      this.small.height = H;
      this.sctx = this.small.getContext("2d");
      this.pixels = this.sctx.createImageData(W, H);
      this.out = new Float32Array(C * H * W);
      this.gridCanvas = null;
      this.buildSliders();
      this.buildLegend();
      this.buildPath();
      if (!this.have.includes(data.model_key)) this.have.push(data.model_key);
      this.resize();
    } else if (newView) {
      this.stop(false);
      this.buildPath();
    }
    this.colors = null; // re-read the theme
    this.drawStatic();
    this.render();
  }

  // ---- geometry ----
  clampZ(v) {
    return Math.max(-this.R, Math.min(this.R, v));
  }
  layout() {
    const w = this.cssSize;
    const m = { l: TICK_FONT * 2.6, b: TICK_FONT * 2.4, t: 8, r: 8 };
    const s = Math.max(50, Math.min(w - m.l - m.r, w - m.t - m.b));
    return { m, s };
  }
  toPx(z1, z2) {
    const { m, s } = this.layout();
    return [m.l + ((z1 + this.R) / (2 * this.R)) * s, m.t + ((this.R - z2) / (2 * this.R)) * s];
  }
  toZ(px, py) {
    const { m, s } = this.layout();
    return [((px - m.l) / s) * 2 * this.R - this.R, this.R - ((py - m.t) / s) * 2 * this.R];
  }
  zIndex(i) {
    return i < this.d ? this.z[i] : 0;
  }

  resize() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const vh = window.innerHeight || 800;
    const size = Math.max(240, Math.floor(Math.min(box.width, Math.max(360, vh * 0.85))));
    const dpr = window.devicePixelRatio || 1;
    this.cssSize = size;
    this.dpr = dpr;
    this.canvas.style.width = this.canvas.style.height = size + "px";
    this.canvas.width = this.canvas.height = Math.round(size * dpr);
    this.static.width = this.static.height = Math.round(size * dpr);
    const dsize = Math.round(this.decoded.getBoundingClientRect().width || 224);
    this.decoded.width = this.decoded.height = Math.round(dsize * dpr);
    if (this.model) {
      this.drawStatic();
      this.render();
      this.drawStrip();
    }
  }

  theme() {
    if (this.colors) return this.colors;
    const r = this.root;
    const bg = cssVar(r, "--st-background-color", "#ffffff");
    const text = cssVar(r, "--st-text-color", "#31333f");
    const dark = luminance(bg) < 0.5;
    this.colors = {
      bg,
      text,
      dark,
      grid: dark ? "rgba(255,255,255,0.12)" : "rgba(0,0,0,0.10)",
      axis: dark ? "rgba(255,255,255,0.45)" : "rgba(0,0,0,0.45)",
      prior: dark ? "rgba(255,255,255,0.85)" : "rgba(0,0,0,0.75)",
      halo: bg,
      path: dark ? "#ffffff" : "#111111",
      star: "#ffd400",
      pick: dark ? "#ffffff" : "#000000",
      primary: cssVar(r, "--st-primary-color", "#ff4b4b"),
    };
    return this.colors;
  }

  // ---- static layers: grid background, points, prior circles, axes ----
  drawStatic() {
    if (!this.model || !this.cssSize) return;
    const g = this.static.getContext("2d");
    const c = this.theme();
    const { m, s } = this.layout();
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    g.clearRect(0, 0, this.cssSize, this.cssSize);
    g.fillStyle = c.bg;
    g.fillRect(0, 0, this.cssSize, this.cssSize);
    // 1. the decoded manifold
    if (this.showGrid) {
      const grid = this.manifoldCanvas();
      g.imageSmoothingEnabled = false;
      g.drawImage(grid, m.l, m.t, s, s);
    }
    // axes and ticks (outside the plot area, and faint lines under the points)
    g.lineWidth = 1;
    g.font = `${TICK_FONT}px sans-serif`;
    g.fillStyle = c.text;
    const step = this.R > 6 ? 2 : 1;
    for (let t = -Math.floor(this.R / step) * step; t <= this.R + 1e-9; t += step) {
      const [x] = this.toPx(t, 0),
        [, y] = this.toPx(0, t);
      g.strokeStyle = t === 0 ? c.axis : c.grid;
      g.beginPath();
      g.moveTo(x, m.t);
      g.lineTo(x, m.t + s);
      g.moveTo(m.l, y);
      g.lineTo(m.l + s, y);
      g.stroke();
      g.textAlign = "center";
      g.textBaseline = "top";
      g.fillText(String(t), x, m.t + s + 4);
      g.textAlign = "right";
      g.textBaseline = "middle";
      g.fillText(String(t), m.l - 5, y);
    }
    g.strokeStyle = c.axis;
    g.strokeRect(m.l, m.t, s, s);
    g.textAlign = "center";
    g.textBaseline = "bottom";
    g.fillText("z₁", m.l + s / 2, this.cssSize);
    g.save();
    g.translate(TICK_FONT, m.t + s / 2);
    g.rotate(-Math.PI / 2);
    g.textBaseline = "middle";
    g.fillText("z₂", 0, 0);
    g.restore();
    // 2. test points, coloured by class
    g.save();
    g.beginPath();
    g.rect(m.l, m.t, s, s);
    g.clip();
    const mu = this.model.mu,
      lab = this.model.labels,
      d = this.d,
      n = lab.length;
    const pal = this.data.colors;
    const r = n > 4000 ? 1.6 : 2.4;
    g.globalAlpha = c.dark ? 0.85 : 0.75;
    for (let i = 0; i < n; i++) {
      const [x, y] = this.toPx(mu[i * d], d > 1 ? mu[i * d + 1] : 0);
      g.fillStyle = pal[lab[i] % pal.length];
      g.fillRect(x - r, y - r, 2 * r, 2 * r);
    }
    g.globalAlpha = 1;
    // 3. the prior's 1, 2, 3 σ circles
    const [ox, oy] = this.toPx(0, 0);
    g.setLineDash([6, 5]);
    for (const k of [1, 2, 3]) {
      const rad = (k / (2 * this.R)) * s;
      g.strokeStyle = c.halo;
      g.lineWidth = 3.5;
      g.beginPath();
      g.arc(ox, oy, rad, 0, 2 * Math.PI);
      g.stroke();
      g.strokeStyle = c.prior;
      g.lineWidth = 1.5;
      g.beginPath();
      g.arc(ox, oy, rad, 0, 2 * Math.PI);
      g.stroke();
    }
    g.setLineDash([]);
    g.font = `bold ${TICK_FONT}px sans-serif`;
    g.textAlign = "left";
    g.textBaseline = "bottom";
    for (const k of [1, 2, 3]) {
      const rad = (k / (2 * this.R)) * s;
      const x = ox + rad * 0.71 + 3,
        y = oy - rad * 0.71 - 2;
      g.lineWidth = 3;
      g.strokeStyle = c.halo;
      g.strokeText(k + "σ", x, y);
      g.fillStyle = c.prior;
      g.fillText(k + "σ", x, y);
    }
    g.restore();
  }

  manifoldCanvas() {
    if (this.gridCanvas) return this.gridCanvas;
    const n = 16,
      [, H, W] = this.shape;
    const cv = document.createElement("canvas");
    cv.width = n * W;
    cv.height = n * H;
    const cx = cv.getContext("2d");
    const img = cx.createImageData(W, H);
    const z = this.z.slice();
    const c = this.theme();
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        z[0] = -this.R + ((b + 0.5) / n) * 2 * this.R;
        if (this.d > 1) z[1] = this.R - ((a + 0.5) / n) * 2 * this.R;
        for (let i = 2; i < this.d; i++) z[i] = 0;
        this.fillPixels(img, this.model.decode(z, this.out));
        cx.putImageData(img, b * W, a * H);
      }
    }
    cx.globalAlpha = c.dark ? 0.35 : 0.45; // keep the points readable on top
    cx.fillStyle = c.bg;
    cx.fillRect(0, 0, cv.width, cv.height);
    this.gridCanvas = cv;
    return cv;
  }

  fillPixels(img, out) {
    const [C, H, W] = this.shape,
      hw = H * W,
      p = img.data;
    for (let q = 0; q < hw; q++) {
      const o = 4 * q;
      if (C === 1) p[o] = p[o + 1] = p[o + 2] = Math.round(out[q] * 255);
      else for (let k = 0; k < 3; k++) p[o + k] = Math.round(out[k * hw + q] * 255);
      p[o + 3] = 255;
    }
  }

  ellipse(ctx, mu0, mu1, lv0, lv1, color, width, dash) {
    // returns the ellipse's rightmost point (CSS px)
    const s = this.layout().s;
    const [x, y] = this.toPx(mu0, mu1);
    const rx = Math.max(((2 * Math.exp(0.5 * lv0)) / (2 * this.R)) * s, 1);
    const ry = Math.max(((2 * Math.exp(0.5 * lv1)) / (2 * this.R)) * s, 1);
    ctx.setLineDash(dash || []);
    ctx.strokeStyle = this.theme().halo;
    ctx.lineWidth = width + 3;
    ctx.beginPath();
    ctx.ellipse(x, y, rx, ry, 0, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.ellipse(x, y, rx, ry, 0, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
    return [x + rx, y];
  }

  star(ctx, x, y, r, fill, outline) {
    ctx.beginPath();
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + (k * Math.PI) / 5,
        rr = k % 2 ? r * 0.45 : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = outline;
    ctx.stroke();
  }

  // ---- a frame: static layers, then path, selection, star, crosshair ----
  render() {
    if (!this.model || !this.cssSize) return;
    const ctx = this.ctx,
      c = this.theme();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.static, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const { m, s } = this.layout();
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, s, s);
    ctx.clip();
    // 4. the path and its frames
    const pz = this.pathZ();
    if (pz.length) {
      ctx.strokeStyle = c.halo;
      ctx.lineWidth = 5;
      ctx.beginPath();
      pz.forEach((z, k) => {
        const [x, y] = this.toPx(z[0], z[1] ?? 0);
        k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      if (this.path.kind === "circle") ctx.closePath();
      ctx.stroke();
      ctx.strokeStyle = c.path;
      ctx.lineWidth = 2;
      ctx.stroke();
      pz.forEach((z, k) => {
        const [x, y] = this.toPx(z[0], z[1] ?? 0);
        ctx.beginPath();
        ctx.arc(x, y, k === this.frame ? 7 : 4.5, 0, 2 * Math.PI);
        ctx.fillStyle = k === this.frame ? c.primary : c.path;
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = c.halo;
        ctx.stroke();
      });
    }
    // 5. the selected test point and its μ ± 2σ ellipse
    if (this.pick !== null && this.pick < this.model.labels.length) {
      const i = this.pick,
        d = this.d,
        mu = this.model.mu,
        lv = this.model.logvar2;
      this.ellipse(ctx, mu[i * d], d > 1 ? mu[i * d + 1] : 0, lv[2 * i], lv[2 * i + 1], c.pick, 2.5, [7, 4]);
      const [x, y] = this.toPx(mu[i * d], d > 1 ? mu[i * d + 1] : 0);
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.fillStyle = this.data.colors[this.model.labels[i] % this.data.colors.length];
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = c.pick;
      ctx.stroke();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = c.halo;
      ctx.beginPath();
      ctx.arc(x, y, 9, 0, 2 * Math.PI);
      ctx.stroke();
    }
    // 6. the encoded image: star and ellipse
    const st = this.data.star;
    if (st) {
      this.starEllPx = this.ellipse(ctx, st.mu[0], st.mu[1] ?? 0, st.logvar[0], st.logvar[1] ?? 0, c.star, 3);
      const [x, y] = this.toPx(st.mu[0], st.mu[1] ?? 0);
      this.star(ctx, x, y, 15, c.star, c.dark ? "#ffffff" : "#000000");
      this.starPx = [x, y];
    } else this.starPx = null;
    // 7. the crosshair: a ring with arms outside it and a dot at z, leaving what lies under z
    //    (a point, the star) visible inside the ring
    const [x, y] = this.toPx(this.z[0], this.zIndex(1));
    for (const [col, w] of [
      [c.halo, 5],
      [c.text, 2.5],
    ]) {
      ctx.strokeStyle = col;
      ctx.lineWidth = w;
      ctx.beginPath();
      ctx.arc(x, y, 18, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x - 29, y);
      ctx.lineTo(x - 18, y);
      ctx.moveTo(x + 18, y);
      ctx.lineTo(x + 29, y);
      ctx.moveTo(x, y - 29);
      ctx.lineTo(x, y - 18);
      ctx.moveTo(x, y + 18);
      ctx.lineTo(x, y + 29);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
    ctx.fillStyle = c.text;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = c.halo;
    ctx.stroke();
    ctx.restore();
    this.crossPx = [x, y];
    this.drawDecoded();
    this.syncControls();
    if (!this.frames) this.firstFrameMs = performance.now(); // since the page's navigation started
    this.frames++;
  }

  drawDecoded() {
    this.fillPixels(this.pixels, this.model.decode(this.z, this.out));
    this.sctx.putImageData(this.pixels, 0, 0);
    this.dctx.imageSmoothingEnabled = false;
    this.dctx.drawImage(this.small, 0, 0, this.decoded.width, this.decoded.height);
  }

  // ---- controls ----
  buildLegend() {
    this.legend.innerHTML = "";
    const names = this.data.class_names,
      pal = this.data.colors;
    const present = new Set(this.model.labels);
    [...present]
      .sort((a, b) => a - b)
      .forEach((k) => {
        const item = el("span", "vp-key", this.legend);
        const sw = el("span", "vp-swatch", item);
        sw.style.background = pal[k % pal.length];
        el("span", "", item).textContent = names[k] ?? String(k);
      });
  }

  buildSliders() {
    this.sliders.innerHTML = "";
    this.sliderEls = [];
    const shown = Math.min(this.d, 16);
    for (let i = 0; i < shown; i++) {
      const row = el("label", "vp-slider", this.sliders);
      el("span", "vp-sname", row).textContent = `z${i + 1}`;
      const inp = el("input", "", row, {
        type: "range",
        min: -this.R,
        max: this.R,
        step: 0.01,
        "aria-label": `z${i + 1}`,
      });
      const val = el("span", "vp-sval", row);
      inp.addEventListener("input", () => {
        this.stop(false);
        const z = this.z.slice();
        z[i] = parseFloat(inp.value);
        this.setZ(z);
        clearTimeout(this.commitTimer);
      });
      inp.addEventListener("change", () => this.scheduleCommit(250));
      this.sliderEls.push([inp, val]);
    }
  }

  syncControls() {
    if (this.sliderEls)
      this.sliderEls.forEach(([inp, val], i) => {
        if (document.activeElement !== inp && this.root.getRootNode().activeElement !== inp) inp.value = this.z[i];
        val.textContent = this.z[i].toFixed(2);
      });
    this.zlabel.textContent = "z = (" + this.z.map((v) => v.toFixed(2)).join(", ") + ")";
    if (this.pick !== null && this.model && this.pick < this.model.labels.length) {
      const lab = this.model.labels[this.pick];
      this.pickLabel.textContent = this.t.picked
        .replace("{i}", this.pick)
        .replace("{name}", this.data.class_names[lab] ?? lab);
    } else this.pickLabel.textContent = this.t.click_hint;
  }

  buildPath() {
    const b = this.pathBox,
      t = this.t,
      p = this.path,
      n = this.model.labels.length;
    b.innerHTML = "";
    if (!this.data.paths) return;
    const head = el("div", "vp-prow", b);
    el("strong", "", head).textContent = t.path;
    const kind = el("select", "", head, { "aria-label": t.path });
    for (const [v, label] of [
      ["none", t.path_none],
      ["line", t.path_line],
      ["circle", t.path_circle],
    ]) {
      if (v === "line" && n < 2) continue;
      const o = el("option", "", kind);
      o.value = v;
      o.textContent = label;
    }
    kind.value = p.kind;
    const row = el("div", "vp-prow", b);
    const num = (label, value, min, max, step, cls) => {
      const l = el("label", "vp-num " + (cls || ""), row);
      el("span", "", l).textContent = label;
      const i = el("input", "", l, { type: "number", min, max, step, value });
      return [l, i];
    };
    const [fromL, from] = num(t.from, p.from, 0, Math.max(n - 1, 0), 1, "line");
    const [toL, to] = num(t.to, Math.min(p.to, n - 1), 0, Math.max(n - 1, 0), 1, "line");
    const [radL, rad] = num(t.radius, p.radius, 0.1, 3, 0.1, "circle");
    const [frL, frames] = num(t.frames, p.frames, 2, 60, 1);
    const [fpsL, fps] = num(t.fps, p.fps, 1, 30, 1);
    const loopL = el("label", "vp-check", row);
    const loop = el("input", "", loopL, { type: "checkbox" });
    loop.checked = p.loop;
    el("span", "", loopL).textContent = t.loop;
    this.playBtn = el("button", "vp-play", row, { type: "button" });
    this.strip = el("canvas", "vp-strip", b, { "aria-label": t.strip });
    this.stripCtx = this.strip.getContext("2d");
    const intIn = (inp, lo, hi) => Math.max(lo, Math.min(hi, Math.round(parseFloat(inp.value) || 0)));
    const sync = () => {
      const wasPlaying = this.playing;
      this.stop(false);
      p.kind = kind.value;
      p.from = intIn(from, 0, n - 1);
      p.to = intIn(to, 0, n - 1);
      p.radius = Math.max(0.1, Math.min(3, parseFloat(rad.value) || 1.5));
      p.frames = intIn(frames, 2, 60);
      p.fps = intIn(fps, 1, 30);
      p.loop = loop.checked;
      if (p.kind === "circle" && (!p.center || this._centerStale)) p.center = this.z.slice();
      this._centerStale = false;
      for (const e of [fromL, toL]) e.style.display = p.kind === "line" ? "" : "none";
      radL.style.display = p.kind === "circle" ? "" : "none";
      for (const e of [frL, fpsL, loopL, this.playBtn, this.strip]) e.style.display = p.kind === "none" ? "none" : "";
      this.frame = -1;
      this.stripFrames = null;
      this.drawStrip();
      this.render();
      if (wasPlaying) this.play();
      if (this.pathBuilt) this.scheduleCommit(300); // the path is part of the view (the address)
    };
    kind.addEventListener("change", () => {
      this._centerStale = true;
      sync();
    });
    for (const i of [from, to, rad, frames, fps, loop]) i.addEventListener("change", sync);
    fps.addEventListener("input", () => {
      p.fps = intIn(fps, 1, 30);
    });
    this.playBtn.addEventListener("click", () => (this.playing ? this.stop(true) : this.play()));
    this.strip.addEventListener("click", (e) => {
      const pz = this.pathZ();
      if (!pz.length) return;
      const r = this.strip.getBoundingClientRect();
      const k = Math.max(0, Math.min(pz.length - 1, Math.floor(((e.clientX - r.left) / r.width) * pz.length)));
      this.stop(false);
      this.showFrame(k);
      this.scheduleCommit(0);
    });
    this.pathInputs = { kind, from, to };
    this.updatePlay();
    this.pathBuilt = false;
    sync();
    this.pathBuilt = true;
  }

  pathZ() {
    const p = this.path;
    if (!this.model || p.kind === "none") return [];
    const d = this.d,
      mu = this.model.mu,
      out = [];
    if (p.kind === "line") {
      const n = this.model.labels.length;
      if (n < 2) return [];
      const a = Math.min(p.from, n - 1),
        b = Math.min(p.to, n - 1);
      for (let k = 0; k < p.frames; k++) {
        const t = k / (p.frames - 1),
          z = new Array(d);
        for (let i = 0; i < d; i++) z[i] = (1 - t) * mu[a * d + i] + t * mu[b * d + i];
        out.push(z);
      }
    } else {
      const c = p.center || this.z;
      for (let k = 0; k < p.frames; k++) {
        const a = (2 * Math.PI * k) / p.frames,
          z = c.slice();
        z[0] = c[0] + p.radius * Math.cos(a);
        if (d > 1) z[1] = c[1] + p.radius * Math.sin(a);
        out.push(z);
      }
    }
    return out;
  }

  drawStrip() {
    if (!this.strip || !this.model) return;
    const pz = this.pathZ();
    if (!pz.length) return;
    const [, H, W] = this.shape;
    const dpr = this.dpr || 1;
    const width = this.strip.getBoundingClientRect().width || this.cssSize || 600;
    const cell = width / pz.length;
    const hCss = Math.min(Math.max(cell, 24), 96);
    this.strip.style.height = hCss + "px";
    this.strip.width = Math.round(width * dpr);
    this.strip.height = Math.round(hCss * dpr);
    const g = this.stripCtx,
      c = this.theme();
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = c.bg;
    g.fillRect(0, 0, width, hCss);
    g.imageSmoothingEnabled = false;
    const img = this.sctx.createImageData(W, H);
    const side = Math.min(cell, hCss) - 6;
    pz.forEach((z, k) => {
      this.fillPixels(img, this.model.decode(z, this.out));
      this.sctx.putImageData(img, 0, 0);
      g.drawImage(this.small, k * cell + (cell - side) / 2, (hCss - side) / 2, side, side);
    });
    if (this.frame >= 0) {
      g.strokeStyle = c.primary;
      g.lineWidth = 3;
      g.strokeRect(this.frame * cell + (cell - side) / 2 - 2, (hCss - side) / 2 - 2, side + 4, side + 4);
    }
    this.drawDecoded(); // the small canvas was reused
  }

  showFrame(k) {
    const pz = this.pathZ();
    if (!pz.length) return;
    this.frame = k;
    this.z = pz[k].map((v) => this.clampZ(v));
    if (this.pick !== null && !this.atPick()) this.pick = null;
    this.render();
    this.drawStrip();
  }

  play() {
    const pz = this.pathZ();
    if (!pz.length) return;
    this.playing = true;
    clearTimeout(this.commitTimer);
    this.updatePlay();
    let last = performance.now(),
      acc = 0;
    if (this.frame < 0 || this.frame >= pz.length - 1) this.showFrame(0);
    const tick = (now) => {
      if (!this.playing) return;
      acc += now - last;
      last = now;
      const period = 1000 / this.path.fps;
      if (acc >= period) {
        acc %= period;
        let k = this.frame + 1;
        if (k >= pz.length) {
          if (!this.path.loop) {
            this.stop(true);
            return;
          }
          k = 0;
        }
        this.showFrame(k);
      }
      this.timer = requestAnimationFrame(tick);
    };
    this.timer = requestAnimationFrame(tick);
  }

  stop(commit) {
    const was = this.playing;
    this.playing = false;
    if (this.timer) cancelAnimationFrame(this.timer);
    this.timer = null;
    this.updatePlay();
    if (was && commit) this.scheduleCommit(0);
  }

  updatePlay() {
    if (this.playBtn) this.playBtn.textContent = this.playing ? "❚❚ " + this.t.pause : "▶ " + this.t.play;
  }

  // ---- moving z ----
  setZ(z, eventTime) {
    const t0 = performance.now();
    this.z = z.map((v) => this.clampZ(v));
    // The selection follows z: once z leaves the picked test point, nothing is "selected" any more.
    if (this.pick !== null && !this.atPick()) this.pick = null;
    if (this.path.kind === "circle" && !this.playing) this.path.center = this.z.slice();
    this.render();
    if (this.path.kind === "circle" && !this.playing) this.drawStrip();
    const t1 = performance.now();
    if (this.times.length < 100000) {
      this.times.push(t1 - t0);
      if (eventTime !== undefined) {
        this.eventTimes.push(t1 - eventTime);
        if (!this.framePending) {
          // the next frame the browser paints shows this z
          this.framePending = true;
          requestAnimationFrame((now) => {
            this.framePending = false;
            this.frameTimes.push(now - eventTime);
          });
        }
      }
    }
  }

  atPick() {
    const d = this.d,
      i = this.pick,
      mu = this.model && this.model.mu;
    if (!mu || i >= this.model.labels.length) return false;
    for (let k = 0; k < d; k++) if (Math.abs(this.clampZ(mu[i * d + k]) - this.z[k]) > 1e-6) return false;
    return true;
  }

  moveToClient(cx, cy, eventTime) {
    const r = this.canvas.getBoundingClientRect();
    const [z1, z2] = this.toZ(cx - r.left, cy - r.top);
    const z = this.z.slice();
    z[0] = z1;
    if (this.d > 1) z[1] = z2;
    this.setZ(z, eventTime);
  }

  nearestPoint(cx, cy, radius) {
    const r = this.canvas.getBoundingClientRect();
    const px = cx - r.left,
      py = cy - r.top,
      mu = this.model.mu,
      d = this.d,
      n = this.model.labels.length;
    let best = null,
      bd = radius * radius;
    for (let i = 0; i < n; i++) {
      const [x, y] = this.toPx(mu[i * d], d > 1 ? mu[i * d + 1] : 0);
      const dd = (x - px) ** 2 + (y - py) ** 2;
      if (dd < bd) {
        bd = dd;
        best = i;
      }
    }
    return best;
  }

  selectPoint(i) {
    this.pick = i;
    const d = this.d;
    this.setZ(Array.from(this.model.mu.subarray(i * d, (i + 1) * d)));
    if (this.pathInputs && this.path.kind !== "line") this.pathInputs.from.value = i;
  }

  scheduleCommit(ms) {
    clearTimeout(this.commitTimer);
    this.commitTimer = setTimeout(() => this.commit(false), ms);
  }

  commit(askModel) {
    if (!this.send) return;
    this.seq = (this.seq || 0) + 1;
    const have = askModel ? this.have.filter((k) => k !== this.data.model_key) : this.have;
    const p = this.path;
    const path = { kind: p.kind, from: p.from, to: p.to, radius: p.radius, frames: p.frames, fps: p.fps, loop: p.loop };
    this.send("commit", { z: this.z.slice(), pick: this.pick, have, seq: this.seq, path, grid: this.showGrid });
  }

  api() {
    const self = this;
    return {
      ready: true,
      decode: (z) => Array.from(self.model.decode(z)),
      getZ: () => self.z.slice(),
      getPick: () => self.pick,
      crosshair: () => self.clientPoint(self.crossPx),
      star: () => (self.starPx ? self.clientPoint(self.starPx) : null),
      starEllipseRight: () => (self.starEllPx ? self.clientPoint(self.starEllPx) : null),
      pointClient: (i) => {
        const d = self.d,
          mu = self.model.mu;
        return self.clientPoint(self.toPx(mu[i * d], d > 1 ? mu[i * d + 1] : 0));
      },
      pixelAt: (clientX, clientY) => {
        const r = self.canvas.getBoundingClientRect();
        const x = Math.round((clientX - r.left) * self.dpr),
          y = Math.round((clientY - r.top) * self.dpr);
        return Array.from(self.ctx.getImageData(x, y, 1, 1).data);
      },
      staticPixelAt: (clientX, clientY) => {
        const r = self.canvas.getBoundingClientRect();
        const x = Math.round((clientX - r.left) * self.dpr),
          y = Math.round((clientY - r.top) * self.dpr);
        return Array.from(self.static.getContext("2d").getImageData(x, y, 1, 1).data);
      },
      frame: () => self.frame,
      playing: () => self.playing,
      canvasSize: () => ({ css: self.cssSize, backing: self.canvas.width, dpr: self.dpr }),
      timings: () => ({
        decodeDraw: self.times.slice(),
        eventToDraw: self.eventTimes.slice(),
        eventToFrame: self.frameTimes.slice(),
        frames: self.frames,
      }),
      resetTimings: () => {
        self.times = [];
        self.eventTimes = [];
        self.frameTimes = [];
      },
      nPoints: () => self.model.labels.length,
      firstFrameMs: () => self.firstFrameMs,
    };
  }

  clientPoint(p) {
    const r = this.canvas.getBoundingClientRect();
    return [r.left + p[0], r.top + p[1]];
  }
}

function planeMain(component) {
  const { data, setStateValue, parentElement } = component;
  const root = parentElement.querySelector(".vp");
  if (!root || !data || !data.texts) return;
  let plane = root.__plane;
  if (!plane) {
    plane = new Plane(root, data);
    root.__plane = plane;
  } else {
    plane.update(data);
  }
  plane.send = setStateValue;
  if (plane.model) {
    PLANES[data.instance] = plane.api();
  }
  if (!plane.model) {
    const once = () => {
      if (plane.model) PLANES[data.instance] = plane.api();
      else setTimeout(once, 100);
    };
    setTimeout(once, 100);
  }
}

export default function (component) {
  if (component.data instanceof Uint8Array || component.data instanceof ArrayBuffer) return loaderMain(component);
  return planeMain(component);
}
