// Real-time latent pad: the decoder runs here, in the browser, on every pointer move.
// Data from Python (constant per model, so Streamlit's message cache sends it once):
//   model_key, layers [{w, b, rows, cols}] (base64 float32, W row-major (out, in)),
//   activation "relu"|"tanh", shape [C, H, W], latent_dim, rest (values of dims 3..d),
//   points (base64 float32 (N, 2)), labels (base64 uint8), colors, range R, instance.
// State to Python: "z" (the full latent vector) on release and on keyboard moves.

function b64ToF32(s) {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function b64ToU8(s) {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function makeDecoder(data) {
  const layers = data.layers.map((l) => ({ w: b64ToF32(l.w), b: b64ToF32(l.b), rows: l.rows, cols: l.cols }));
  const relu = data.activation === "relu";
  const maxWidth = Math.max(...layers.map((l) => l.rows), data.latent_dim);
  const bufA = new Float64Array(maxWidth);
  const bufB = new Float64Array(maxWidth);
  // z: array of latent_dim numbers -> Float32Array of C*H*W pixel means in [0, 1]
  return function decode(z) {
    let x = bufA, y = bufB;
    for (let i = 0; i < z.length; i++) x[i] = z[i];
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
      const t = x; x = y; y = t;
    }
    const n = layers[layers.length - 1].rows;
    return Float32Array.from(x.subarray(0, n));
  };
}

function setup(root, data) {
  const pad = root.querySelector(".pad");
  const img = root.querySelector(".decoded");
  const label = root.querySelector(".zlabel");
  const ctx = pad.getContext("2d");
  const ictx = img.getContext("2d");
  const [C, H, W] = data.shape;
  const R = data.range;
  const S = pad.width;
  const decode = makeDecoder(data);
  const toPx = (v) => ((v + R) / (2 * R)) * S;
  const toZ = (px) => (px / S) * 2 * R - R;

  // The static layer (points, prior circles, axes) is drawn once to an offscreen canvas.
  const bg = document.createElement("canvas");
  bg.width = bg.height = S;
  const g = bg.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, S, S);
  g.strokeStyle = "#e5e5e5";
  g.fillStyle = "#777";
  g.font = "11px sans-serif";
  for (let t = Math.ceil(-R); t <= Math.floor(R); t++) {
    const p = toPx(t);
    g.beginPath(); g.moveTo(p, 0); g.lineTo(p, S); g.moveTo(0, S - p); g.lineTo(S, S - p); g.stroke();
    if (t !== 0) { g.fillText(String(t), p + 2, S / 2 - 3); g.fillText(String(t), S / 2 + 3, S - p - 2); }
  }
  g.strokeStyle = "#999";
  g.beginPath(); g.moveTo(toPx(0), 0); g.lineTo(toPx(0), S); g.moveTo(0, toPx(0)); g.lineTo(S, toPx(0)); g.stroke();
  const pts = data.points ? b64ToF32(data.points) : new Float32Array(0);
  const labs = data.labels ? b64ToU8(data.labels) : new Uint8Array(0);
  for (let i = 0; i < labs.length; i++) {
    g.fillStyle = data.colors[labs[i] % data.colors.length];
    g.globalAlpha = 0.7;
    g.fillRect(toPx(pts[2 * i]) - 1.5, S - toPx(pts[2 * i + 1]) - 1.5, 3, 3);
  }
  g.globalAlpha = 1;
  g.setLineDash([4, 4]);
  g.strokeStyle = "#444";
  for (const k of [1, 2, 3]) {
    g.beginPath(); g.arc(toPx(0), toPx(0), (k / (2 * R)) * S, 0, 2 * Math.PI); g.stroke();
    g.fillStyle = "#444"; g.fillText(k + "σ", toPx(0) + (k / (2 * R)) * S * 0.71 + 2, toPx(0) - (k / (2 * R)) * S * 0.71 - 2);
  }
  g.setLineDash([]);
  g.fillStyle = "#222";
  g.fillText("z₁ →", S - 30, S / 2 + 14);
  g.fillText("z₂ ↑", S / 2 + 6, 12);

  const small = document.createElement("canvas");
  small.width = W; small.height = H;
  const sctx = small.getContext("2d");
  const pixels = sctx.createImageData(W, H);
  ictx.imageSmoothingEnabled = false;

  const state = {
    modelKey: data.model_key, z: data.z0 ? data.z0.slice(0, 2) : [0, 0], rest: data.rest || [],
    times: [], eventTimes: [], frames: 0, dragging: false, send: null,
  };

  function fullZ() { return state.z.concat(state.rest).slice(0, data.latent_dim); }

  function drawImage(out) {
    const hw = H * W;
    for (let p = 0; p < hw; p++) {
      const o = 4 * p;
      if (C === 1) {
        const v = Math.round(out[p] * 255);
        pixels.data[o] = pixels.data[o + 1] = pixels.data[o + 2] = v;
      } else {
        for (let c = 0; c < 3; c++) pixels.data[o + c] = Math.round(out[c * hw + p] * 255);
      }
      pixels.data[o + 3] = 255;
    }
    sctx.putImageData(pixels, 0, 0);
    ictx.drawImage(small, 0, 0, img.width, img.height);
  }

  function render() {
    const out = decode(fullZ());
    drawImage(out);
    ctx.drawImage(bg, 0, 0);
    const x = toPx(state.z[0]), y = S - toPx(state.z[1]);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 11, y); ctx.lineTo(x + 11, y); ctx.moveTo(x, y - 11); ctx.lineTo(x, y + 11); ctx.stroke();
    ctx.lineWidth = 1;
    label.textContent = "z = (" + fullZ().map((v) => v.toFixed(2)).join(", ") + ")";
    state.frames++;
  }

  function moveTo(px, py, eventTime) {
    const t0 = performance.now();
    const r = pad.getBoundingClientRect();
    const sx = S / r.width;
    state.z = [
      Math.max(-R, Math.min(R, toZ((px - r.left) * sx))),
      Math.max(-R, Math.min(R, -toZ((py - r.top) * sx))),
    ];
    render();
    const t1 = performance.now();
    if (state.times.length < 100000) {
      state.times.push(t1 - t0);
      if (eventTime !== undefined) state.eventTimes.push(t1 - eventTime);
    }
  }

  function commit() { if (state.send) state.send("z", fullZ()); }

  pad.addEventListener("pointerdown", (e) => {
    state.dragging = true; pad.setPointerCapture(e.pointerId); pad.focus(); moveTo(e.clientX, e.clientY, e.timeStamp);
  });
  pad.addEventListener("pointermove", (e) => { if (state.dragging) moveTo(e.clientX, e.clientY, e.timeStamp); });
  const release = () => { if (state.dragging) { state.dragging = false; commit(); } };
  pad.addEventListener("pointerup", release);
  pad.addEventListener("pointercancel", release);
  pad.addEventListener("keydown", (e) => {
    const step = e.shiftKey ? 0.25 : 0.05;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
    if (!d) return;
    e.preventDefault();
    const t0 = performance.now();
    state.z = [Math.max(-R, Math.min(R, state.z[0] + d[0])), Math.max(-R, Math.min(R, state.z[1] + d[1]))];
    render();
    state.times.push(performance.now() - t0);
    commit();
  });

  state.render = render;
  state.api = {
    decode: (z) => Array.from(decode(z)),
    getZ: () => fullZ(),
    timings: () => ({ decodeDraw: state.times.slice(), eventToDraw: state.eventTimes.slice(), frames: state.frames }),
    resetTimings: () => { state.times = []; state.eventTimes = []; },
    ready: true,
  };
  render();
  state.api.firstFrameMs = performance.now(); // since the page's navigation started
  return state;
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  const root = parentElement.querySelector(".latent-pad");
  if (!root || !data || !data.layers) return;
  let state = root.__padState;
  if (!state || state.modelKey !== data.model_key) {
    state = setup(root, data);
    root.__padState = state;
  } else if (JSON.stringify(state.rest) !== JSON.stringify(data.rest || [])) {
    state.rest = data.rest || [];
    state.render();
  }
  state.send = setStateValue;
  window.__latentPads = window.__latentPads || {};
  window.__latentPads[data.instance] = state.api;
}
