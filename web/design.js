// The designer's tools on a scored photo, in one dialog: mark regions (drag on the photo, or type
// a box) and measure what hiding each does to the score (POST /model/regions); find the best
// crops for each ratio (POST /model/crops), see them outlined, and move one by hand (drag it, or
// arrow keys) to score it as it is. Both ask for stable=true, as the scores do. The score is the
// main output's (web/outputs.js), as the API's top level and crops are.
// The model predicts memory, not gaze: nothing here speaks of attention.
"use strict";

const dialog = document.getElementById("design");
const stage = document.getElementById("stage");
const stageImg = document.getElementById("stage-img");
const marks = document.getElementById("marks");
const regionList = document.getElementById("region-list");
const regionResults = document.getElementById("region-results");
const cropResults = document.getElementById("crop-results");
const ownCrop = document.getElementById("own-crop");
// SVG (the namespace), post() and csvField() come from web/video.js and web/app.js, loaded first.
const EFFECT_RANGE = 0.15; // score units from the centre to the end of a region's bar
let design = null; // { item, regions: [{name, box}], regionsBody, cropsBody, dragged }

function openDesign(item) {
  design = { item, regions: [], regionsBody: null, cropsBody: null, selected: null };
  document.getElementById("design-title").textContent = `Regions and crops: ${item.file.name}`;
  stageImg.src = item.photoUrl;
  stageImg.alt = item.file.name;
  for (const list of [regionList, regionResults, cropResults]) list.replaceChildren();
  ownCrop.textContent = "";
  drawMarks();
  dialog.showModal();
}

function fraction(event) {
  const r = stageImg.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - r.left) / r.width), clamp((event.clientY - r.top) / r.height)];
}

function round3(v) { return Math.round(v * 1000) / 1000; }

function addRegion(name, box) {
  design.regions.push({ name: name || `region ${design.regions.length + 1}`, box: box.map(round3) });
  listRegions();
  drawMarks();
}

function listRegions() {
  regionList.replaceChildren();
  design.regions.forEach((region, i) => {
    const li = document.createElement("li");
    const name = document.createElement("input");
    name.value = region.name;
    name.setAttribute("aria-label", `Name of region ${i + 1}`);
    name.addEventListener("change", () => { region.name = name.value; drawMarks(); });
    const where = document.createElement("span");
    where.textContent = ` [${region.box.join(", ")}] `;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove region ${region.name}`);
    remove.addEventListener("click", () => { design.regions.splice(i, 1); listRegions(); drawMarks(); });
    li.append(name, where, remove);
    regionList.appendChild(li);
  });
  document.getElementById("measure").disabled = design.regions.length === 0;
}

function rect(box, cls, label) {
  const [x0, y0, x1, y1] = box;
  const r = document.createElementNS(SVG, "rect");
  for (const [k, v] of [["x", x0], ["y", y0], ["width", x1 - x0], ["height", y1 - y0], ["class", cls]]) r.setAttribute(k, v);
  const title = document.createElementNS(SVG, "title");
  title.textContent = label;
  r.appendChild(title);
  marks.appendChild(r);
  return r;
}

// Regions as outlined boxes; the crops found, each ratio's best outlined (ties dashed); the
// selected crop movable with the pointer or the arrow keys.
function drawMarks() {
  marks.replaceChildren();
  for (const region of design.regions) rect(region.box, "region", region.name);
  if (design.drawing) rect(design.drawing, "region drawing", "new region");
  const body = design.cropsBody;
  if (!body) return;
  for (const ratio of body.ratios) {
    const best = ratio.crops[0];
    if (best === design.selected?.crop) continue;
    rect(toFraction(best.box, body), "crop", `${ratio.ratio}: ${best[field(limits.default_output)].toFixed(3)}`);
  }
  if (design.selected) {
    const r = rect(toFraction(design.selected.box, body), "crop selected", `your ${design.selected.ratio} crop`);
    r.setAttribute("tabindex", "0");
    r.setAttribute("role", "button");
    r.setAttribute("aria-label", `${design.selected.ratio} crop: drag it or use the arrow keys to move it, then it is scored`);
    r.addEventListener("pointerdown", startMove);
    r.addEventListener("keydown", keyMove);
  }
}

function toFraction([x, y, w, h], body) {
  return [x / body.width, y / body.height, (x + w) / body.width, (y + h) / body.height];
}

stage.addEventListener("pointerdown", (event) => {
  if (event.target.classList?.contains("selected")) return;
  event.preventDefault();
  const start = fraction(event);
  stage.setPointerCapture(event.pointerId);
  const move = (e) => {
    const [x, y] = fraction(e);
    design.drawing = [Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x), Math.max(start[1], y)];
    drawMarks();
  };
  const up = () => {
    stage.removeEventListener("pointermove", move);
    const box = design.drawing;
    design.drawing = null;
    if (box && box[2] - box[0] > 0.01 && box[3] - box[1] > 0.01) addRegion("", box);
    else drawMarks();
  };
  stage.addEventListener("pointermove", move);
  stage.addEventListener("pointerup", up, { once: true });
});

document.getElementById("region-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const box = ["x0", "y0", "x1", "y1"].map((k) => Number(form.elements[k].value));
  if (!(box[0] < box[2] && box[1] < box[3])) {
    document.getElementById("region-error").textContent = "The box needs x0 < x1 and y0 < y1, each 0 to 1.";
    return;
  }
  document.getElementById("region-error").textContent = "";
  addRegion(form.elements.name.value.trim(), box);
  form.elements.name.value = "";
});

function regionSentence(r) {
  const size = `${Math.abs(r.effect).toFixed(2)} ± ${r.spread.toFixed(2)}`;
  const score = words().score;
  const what = `hiding ${r.name} ${r.effect >= 0 ? "lowers" : "raises"} ${score} by ${size}`;
  return r.verdict === "no clear effect" ? `${what}: no clear effect (within its spread or the model's noise)` : what;
}

// How the score moves when something is hidden, as a positive number and a direction (an effect
// is the fall of the score: a negative one is a rise).
function moves(effect) {
  const size = Math.abs(effect).toFixed(3);
  const score = words().score;
  return effect > 0 ? `${score} falls by ${size}` : effect < 0 ? `${score} rises by ${size}` : `${score} does not move`;
}

function falseAlarmSentence(r) {
  const size = Math.abs(r.effect).toFixed(3);
  return r.effect > 0 ? `and it makes the photo feel familiar: hiding it lowers the false-alarm rate by ${size}`
    : r.effect < 0 ? `and hiding it makes the photo feel more familiar: the false-alarm rate rises by ${size}`
    : "and the false-alarm rate does not move";
}

async function measureRegions() {
  const form = new FormData();
  form.append("image", design.item.file, design.item.file.name);
  form.append("regions", JSON.stringify(design.regions.map(({ name, box }) => ({ name, box }))));
  form.append("stable", "true");
  regionResults.replaceChildren(note("Measuring…"));
  const { ok, body } = await post("/model/regions", form);
  if (!ok) { regionResults.replaceChildren(note(`Could not measure: ${body.message}`, "error")); return; }
  design.regionsBody = body;
  regionResults.replaceChildren();
  const familiar = (body.outputs ?? []).find((o) => o.output === "false_alarm");
  body.regions.forEach((r, i) => {
    const li = document.createElement("li");
    li.className = `verdict ${r.verdict.replaceAll(" ", "-")}`;
    const text = document.createElement("p");
    text.textContent = regionSentence(r);
    li.append(text, effectBar(r, body.noise_band));
    if (familiar) li.append(note(falseAlarmSentence(familiar.regions[i])));
    if (r.warning) li.append(note(r.warning, "warning"));
    regionResults.appendChild(li);
  });
  if (body.all_hidden) {
    regionResults.appendChild(note(`All ${body.regions.length} hidden at once: ${moves(body.all_hidden.effect)}; ` +
      `their own effects sum to ${body.all_hidden.sum_of_effects.toFixed(3)}.`));
  }
}

// A diverging bar: the centre is no change; the grey band is the model's noise; the whisker the spread.
function effectBar(r, noise) {
  const pct = (v) => `${(50 + (Math.max(-EFFECT_RANGE, Math.min(EFFECT_RANGE, v)) / EFFECT_RANGE) * 50).toFixed(1)}%`;
  const bar = document.createElement("div");
  bar.className = "effect";
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", regionSentence(r));
  const band = document.createElement("span");
  band.className = "band";
  band.style.left = pct(-noise);
  band.style.right = `calc(100% - ${pct(noise)})`;
  const fill = document.createElement("span");
  fill.className = r.effect >= 0 ? "fill raises" : "fill lowers";
  fill.style.left = pct(Math.min(0, r.effect));
  fill.style.right = `calc(100% - ${pct(Math.max(0, r.effect))})`;
  const whisker = document.createElement("span");
  whisker.className = "whisker";
  whisker.style.left = pct(r.effect - r.spread);
  whisker.style.right = `calc(100% - ${pct(r.effect + r.spread)})`;
  bar.append(band, fill, whisker);
  return bar;
}

function note(text, cls = "") {
  const p = document.createElement("p");
  p.className = cls;
  p.textContent = text;
  return p;
}

// A row per region and crop: each output's score and effect, the main output's spread and verdict,
// in columns named as the API names them.
function designRows() {
  const main = limits.default_output, outputs = shown();
  const rows = [["kind", "name", "box", ...outputs.map((o) => field(o)), ...outputs.map((o) => field(o, "effect")),
    field(main, "spread"), field(main, "verdict"), "tie"]];
  const blank = outputs.map(() => "");
  const body = design.regionsBody;
  (body?.regions ?? []).forEach((r, i) => {
    const box = design.regions.find((g) => g.name === r.name)?.box ?? [];
    const effects = outputs.map((o) => (o === main ? r : body.outputs.find((x) => x.output === o).regions[i]).effect);
    rows.push(["region", r.name, box.join(" "), ...blank, ...effects.map((e) => e.toFixed(6)), r.spread.toFixed(6),
      r.verdict, ""]);
  });
  for (const ratio of design.cropsBody?.ratios ?? []) {
    for (const c of ratio.crops) {
      rows.push(["crop", ratio.ratio, c.export.xywh, ...outputs.map((o) => c[field(o)].toFixed(6)), ...blank, "", "",
        c.tie]);
    }
  }
  if (design.selected?.score !== undefined) { // its main output's score alone, in that output's column (the first)
    rows.push(["own crop", design.selected.ratio, design.selected.box.join(","), design.selected.score.toFixed(6),
      ...blank.slice(1), ...blank, "", "", ""]);
  }
  return rows;
}

function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

document.getElementById("measure").addEventListener("click", measureRegions);
document.getElementById("design-close").addEventListener("click", () => dialog.close());
document.getElementById("design-csv").addEventListener("click", () => download(
  "design.csv", designRows().map((row) => row.map(csvField).join(",")).join("\n") + "\n", "text/csv"));
document.getElementById("design-json").addEventListener("click", () => download("design.json", JSON.stringify({
  photo: design.item.file.name, regions: design.regions, measured: design.regionsBody, crops: design.cropsBody,
  own_crop: design.selected?.score !== undefined ? { ratio: design.selected.ratio, box: design.selected.box,
    [field(limits.default_output)]: design.selected.score } : null }, null, 2), "application/json"));
