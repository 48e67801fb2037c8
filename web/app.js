// The /app page: scores dropped photos through batched POST /model/predict requests (up to
// MAX_FILES photos each, at most two in flight), in the stable mode (each photo the mean of it
// and its mirror image), shows each output the server predicts (the main one, web/outputs.js,
// and the false-alarm rate beside memorability), keeps the cards sorted by the one chosen, groups
// main scores closer than the model's measured noise as "too close to call", and fetches a
// photo's map from POST /model/explain when it is asked for. Photos are shown from object URLs:
// no base64 copy of an original is made.
"use strict";

const results = document.getElementById("results");
const input = document.getElementById("files");
const drop = document.getElementById("drop");
const toolbar = document.getElementById("toolbar");
const items = [];
const IN_FLIGHT = 2; // predict requests at once: the server runs one forward pass at a time anyway
const sortBy = document.getElementById("sort-by");
let running = 0;
let maps = Promise.resolve(); // one /model/explain at a time

function megabytes(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function card(item) {
  const li = document.createElement("li");
  li.className = "card";
  li.innerHTML = `
    <img alt="">
    <div>
      <div class="name"></div>
      <div class="score pending">scoring…</div>
      <div class="bar" aria-hidden="true"><div></div><span class="band"></span></div>
      <div class="false-alarm" hidden></div>
      <p class="tie" hidden></p>
      <button type="button" class="map" aria-pressed="false" disabled>Show map</button>
      <button type="button" class="design" disabled>Regions and crops</button>
      <button type="button" class="remove">Remove</button>
      <p class="error" role="alert" hidden></p>
    </div>`;
  li.querySelector(".name").textContent = item.file.name;
  li.querySelector("img").alt = item.file.name; // its src once it is known to be a photo
  li.querySelector(".map").addEventListener("click", () => toggleMap(item));
  li.querySelector(".design").addEventListener("click", () => openDesign(item)); // web/design.js
  li.querySelector(".remove").setAttribute("aria-label", `Remove ${item.file.name}`);
  li.querySelector(".remove").addEventListener("click", () => remove(item));
  return li;
}

function remove(item) {
  item.removed = true;
  if (item.photoUrl) URL.revokeObjectURL(item.photoUrl);
  forget(item);
}

function forget(item) {
  item.element.remove();
  items.splice(items.indexOf(item), 1);
  updateToolbar();
}

function clearAll() {
  for (const item of [...items]) remove(item);
  for (const video of [...videos]) video.element.querySelector(".remove").click();
}

async function toggleMap(item) {
  const button = item.element.querySelector(".map");
  if (!item.overlayUrl) {
    button.disabled = true;
    button.textContent = "Mapping…";
    maps = maps.then(() => explain(item));
    await maps;
    button.disabled = false;
    if (!item.overlayUrl) { button.textContent = "Show map"; return; }
  }
  item.showMap = !item.showMap;
  button.setAttribute("aria-pressed", String(item.showMap));
  button.textContent = item.showMap ? "Hide map" : "Show map";
  item.element.querySelector("img").src = item.showMap ? item.overlayUrl : item.photoUrl;
}

async function explain(item) {
  if (item.removed) return;
  const form = new FormData();
  form.append("image", item.file, item.file.name);
  const { ok, body } = await post("/model/explain", form);
  if (ok) item.overlayUrl = `data:image/png;base64,${body.overlay}`;
  else showError(item, `Could not map this file: ${body.message}`);
}

// ``prediction``: the photo's fields in /model/predict's answer; item.score is the main output's.
function showScore(item, prediction) {
  item.prediction = prediction;
  item.score = prediction[field(limits.default_output)];
  if (beside("false_alarm")) {
    const rate = prediction[field("false_alarm")];
    const familiar = item.element.querySelector(".false-alarm");
    familiar.textContent = `false alarms ${rate.toFixed(3)}: feels familiar to ` +
      `${Math.round(rate * 100)}% of people who never saw it`;
    familiar.hidden = false;
  }
  const score = item.element.querySelector(".score");
  score.textContent = item.score.toFixed(3);
  score.classList.remove("pending");
  const bar = item.element.querySelector(".bar"); // a meter only once there is a value
  bar.removeAttribute("aria-hidden");
  for (const [name, value] of [["role", "meter"], ["aria-valuemin", "0"], ["aria-valuemax", "1"],
    ["aria-valuenow", String(item.score)], ["aria-label", `${words().name} of ${item.file.name}`]]) {
    bar.setAttribute(name, value);
  }
  bar.firstElementChild.style.width = `${(item.score * 100).toFixed(1)}%`;
  // The model's noise: two scores whose bands overlap are closer than TIE_THRESHOLD.
  const band = bar.querySelector(".band");
  const half = limits.tie_threshold / 2;
  band.style.left = `${(Math.max(0, item.score - half) * 100).toFixed(1)}%`;
  band.style.width = `${((Math.min(1, item.score + half) - Math.max(0, item.score - half)) * 100).toFixed(1)}%`;
  item.element.querySelector(".map").disabled = false;
  item.element.querySelector(".design").disabled = false;
}

function showError(item, message) {
  if (item.score === undefined) {
    item.failed = true;
    item.error = message;
    const score = item.element.querySelector(".score");
    score.textContent = "not scored";
    score.classList.remove("pending");
  }
  const error = item.element.querySelector(".error");
  error.textContent = message;
  error.hidden = false;
}

// Highest first, by the output chosen (the main one unless another is asked for); photos still
// waiting next; files that failed last.
function sortCards() {
  const rank = (item) => (item.score !== undefined ? 0 : item.failed ? 2 : 1);
  const key = (item) => item.prediction?.[field(sortBy.value)] ?? 0;
  items.sort((a, b) => rank(a) - rank(b) || key(b) - key(a) || a.order - b.order);
  markTies();
  for (const item of items) results.appendChild(item.element);
  updateToolbar();
}

// Tie groups, in score order: a photo joins the group above it when it scores less than
// TIE_THRESHOLD below the group's first photo; the model cannot rank the photos of one group.
function markTies() {
  // In the main output's order, whichever order the cards are shown in: the noise is measured on it.
  const scored = items.filter((item) => item.score !== undefined).sort((a, b) => b.score - a.score);
  let group = 0;
  let top;
  for (const item of scored) {
    if (top === undefined || top - item.score >= limits.tie_threshold) { group += 1; top = item.score; }
    item.tieGroup = group;
  }
  for (const item of scored) {
    const others = scored.filter((other) => other !== item && other.tieGroup === item.tieGroup);
    const tie = item.element.querySelector(".tie");
    tie.hidden = others.length === 0;
    tie.textContent = others.length ? `Too close to call with ${others.map((o) => o.file.name).join(", ")}` : "";
    item.element.classList.toggle("tied", others.length > 0);
  }
}

function updateToolbar() {
  toolbar.hidden = items.length === 0 && videos.length === 0;
  document.getElementById("csv").disabled = !items.some((item) => item.score !== undefined) &&
    !videos.some((video) => video.body);
}

async function post(path, form) {
  let response;
  try {
    response = await fetch(path, { method: "POST", body: form });
  } catch (error) {
    return { ok: false, status: 0, body: { message: "the server did not answer. Is it running?" } };
  }
  try {
    const body = await response.json();
    return { ok: response.ok && body.status === "ok", status: response.status, body };
  } catch (error) {
    return { ok: false, status: response.status, body: { message: `${response.status} ${response.statusText}` } };
  }
}

// Scores a batch in one request. One bad file fails a whole batch, so a failed batch is sent
// again one photo at a time: each file then gets its own answer.
async function predict(batch) {
  const form = new FormData();
  for (const item of batch) form.append("image", item.file, item.file.name);
  form.append("stable", "true");
  const { ok, status, body } = await post("/model/predict", form);
  if (ok) {
    batch.forEach((item, i) => showScore(item, body.predictions[i]));
  } else if (batch.length > 1 && status !== 0 && status !== 503) {
    for (const item of batch) await predict([item]);
  } else {
    for (const item of batch) showError(item, `Could not score this file: ${body.message}`);
  }
}

// Takes the next batch from the photos waiting: at most max_files, and under max_bytes.
function nextBatch() {
  const batch = [];
  let bytes = 0;
  for (const item of items) {
    if (item.queued || item.removed || item.checking) continue;
    if (item.file.size > limits.max_bytes) {
      item.queued = true;
      showError(item, `This file is ${megabytes(item.file.size)}; the server takes at most ` +
        `${megabytes(limits.max_bytes)} per request.`);
      continue;
    }
    if (batch.length === limits.max_files || (batch.length && bytes + item.file.size > limits.max_bytes)) break;
    item.queued = true;
    batch.push(item);
    bytes += item.file.size;
  }
  return batch;
}

async function pump() {
  await limitsLoaded;
  while (running < IN_FLIGHT) {
    const batch = nextBatch();
    if (!batch.length) return;
    running += 1;
    predict(batch).finally(() => { running -= 1; sortCards(); pump(); });
  }
}

// Each file gets its card at once; it is scored as a photo, or moved to the videos, once the
// server has said which it is (web/video.js: kindsOf).
function addFiles(files) {
  const added = [...files].map((file) => ({ file, order: items.length, showMap: false, checking: true }));
  for (const item of added) {
    item.element = card(item);
    items.push(item);
  }
  sortCards();
  kindsOf(added.map((item) => item.file)).then((kinds) => {
    added.forEach((item, i) => {
      item.checking = false;
      if (item.removed) return;
      if (kinds[i] === "video") { forget(item); addVideo(item.file); return; }
      item.photoUrl = URL.createObjectURL(item.file);
      item.element.querySelector("img").src = item.photoUrl;
    });
    sortCards();
    pump();
  });
}

function csvField(value) {
  const text = String(value ?? "");
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// The photos' and the videos' rows: each output's score and mirror delta, named as the API names them.
function downloadCsv() {
  const columns = shown().flatMap((output) => [field(output), field(output, "mirror_delta")]);
  const rows = [["name", "time", ...columns, "tie_group", "error"]];
  for (const item of items) {
    rows.push([item.file.name, "", ...columns.map((name) => item.prediction?.[name]?.toFixed(6) ?? ""),
      item.tieGroup ?? "", item.error ?? ""]);
  }
  rows.push(...videoRows(columns)); // web/video.js: a row per frame of each video's timeline
  const blob = new Blob([rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n"], { type: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${field(limits.default_output)}.csv`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

document.getElementById("csv").addEventListener("click", downloadCsv);
sortBy.addEventListener("change", sortCards);
document.getElementById("clear").addEventListener("click", clearAll);
input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => { event.preventDefault(); addFiles(event.dataTransfer.files); });
