// The crops tool of the regions and crops dialog (web/design.js, loaded first): the best crops of
// the ticked ratios from POST /model/crops, by the main output (web/outputs.js) as the API ranks
// them, outlined on the photo and listed with thumbnails, scores, the difference from the centre
// crop and the ties; a selected crop moved by pointer or arrow keys and scored as it is (`boxes`).
"use strict";

async function findCrops() {
  const ratios = [...document.querySelectorAll("#ratios input:checked")].map((i) => i.value);
  if (!ratios.length) { cropResults.replaceChildren(note("Pick at least one ratio.", "error")); return; }
  const form = new FormData();
  form.append("image", design.item.file, design.item.file.name);
  form.append("ratios", ratios.join(","));
  form.append("stable", "true");
  cropResults.replaceChildren(note("Finding crops…"));
  const { ok, body } = await post("/model/crops", form);
  if (!ok) { cropResults.replaceChildren(note(`Could not find crops: ${body.message}`, "error")); return; }
  design.cropsBody = body;
  design.selected = null;
  cropResults.replaceChildren(note("Compare scores within a ratio only: the model squashes every crop to a square."));
  for (const ratio of body.ratios) {
    const section = document.createElement("section");
    const title = document.createElement("h4");
    title.textContent = `${ratio.ratio} (centre crop ${ratio.center[field(limits.default_output)].toFixed(3)})`;
    const list = document.createElement("ol");
    list.className = "crops";
    for (const crop of ratio.crops) list.appendChild(cropItem(crop, ratio, body));
    section.append(title, list);
    cropResults.appendChild(section);
  }
  drawMarks();
}

function cropItem(crop, ratio, body) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "crop-choice";
  const canvas = document.createElement("canvas");
  const [x, y, w, h] = crop.box;
  const scale = 120 / Math.max(w, h);
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  const sx = stageImg.naturalWidth / body.width; // the browser's decode may differ in size
  const sy = stageImg.naturalHeight / body.height;
  canvas.getContext("2d").drawImage(stageImg, x * sx, y * sy, w * sx, h * sy, 0, 0, canvas.width, canvas.height);
  const main = limits.default_output;
  const delta = crop[field(main, "delta_vs_center")];
  const label = document.createElement("span");
  label.textContent = `${crop[field(main)].toFixed(3)} ` +
    `(${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(3)} vs centre)` +
    (beside("false_alarm") ? ` · false alarms ${crop[field("false_alarm")].toFixed(3)}` : "") +
    (crop.tie ? " · tie" : "");
  button.append(canvas, label);
  button.setAttribute("aria-label", `${ratio.ratio} crop at ${crop.export.xywh}: ${label.textContent}. Select to move it`);
  button.addEventListener("click", () => {
    design.selected = { crop, ratio: ratio.ratio, box: [...crop.box] };
    drawMarks();
  });
  const code = document.createElement("code");
  code.textContent = crop.export.xywh;
  li.append(button, code);
  return li;
}

function startMove(event) {
  event.preventDefault();
  event.stopPropagation();
  const body = design.cropsBody;
  const sel = design.selected;
  const [fx, fy] = fraction(event);
  const [bx, by] = sel.box;
  marks.setPointerCapture?.(event.pointerId);
  const move = (e) => {
    const [x, y] = fraction(e);
    moveTo(bx + (x - fx) * body.width, by + (y - fy) * body.height);
  };
  const up = () => { document.removeEventListener("pointermove", move); scoreOwnCrop(); };
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", up, { once: true });
}

function moveTo(x, y) {
  const body = design.cropsBody;
  const box = design.selected.box;
  box[0] = Math.round(Math.min(body.width - box[2], Math.max(0, x)));
  box[1] = Math.round(Math.min(body.height - box[3], Math.max(0, y)));
  drawMarks();
}

function keyMove(event) {
  const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
  if (!step) return;
  event.preventDefault();
  const body = design.cropsBody;
  const box = design.selected.box;
  moveTo(box[0] + step[0] * 0.02 * body.width, box[1] + step[1] * 0.02 * body.height);
  marks.querySelector(".selected")?.focus();
  clearTimeout(design.keyTimer);
  design.keyTimer = setTimeout(scoreOwnCrop, 400);
}

async function scoreOwnCrop() {
  const sel = design.selected;
  const form = new FormData();
  form.append("image", design.item.file, design.item.file.name);
  form.append("boxes", JSON.stringify([sel.box]));
  form.append("stable", "true");
  ownCrop.textContent = "Scoring your crop…";
  const { ok, body } = await post("/model/crops", form);
  if (!ok) { ownCrop.textContent = `Could not score this crop: ${body.message}`; return; }
  const main = field(limits.default_output);
  const score = body.boxes[0][main];
  const center = design.cropsBody.ratios.find((r) => r.ratio === sel.ratio).center[main];
  sel.score = score;
  ownCrop.textContent = `Your ${sel.ratio} crop at ${sel.box.join(",")}: ${score.toFixed(3)} ` +
    `(${score >= center ? "+" : "−"}${Math.abs(score - center).toFixed(3)} vs centre)`;
}

document.getElementById("find-crops").addEventListener("click", findCrops);
