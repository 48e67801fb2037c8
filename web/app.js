// The /app page: sends each photo to POST /model/explain on this origin, one at a time (the
// server runs one forward pass at a time anyway), and keeps the cards sorted by score.
"use strict";

const results = document.getElementById("results");
const input = document.getElementById("files");
const drop = document.getElementById("drop");
const items = [];
let limits = { max_bytes: Infinity };
let queue = Promise.resolve();

// Checked before each upload; without them the server's own 413 answer still applies.
const limitsLoaded = fetch("/app/limits.json").then((r) => r.json()).then((l) => { limits = l; })
  .catch(() => {});

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
      <div class="bar" role="meter" aria-valuemin="0" aria-valuemax="1"><div></div></div>
      <button type="button" class="map" aria-pressed="false" disabled>Show map</button>
      <p class="error" role="alert" hidden></p>
    </div>`;
  li.querySelector(".name").textContent = item.file.name;
  li.querySelector("img").src = item.photoUrl;
  li.querySelector("img").alt = item.file.name;
  li.querySelector(".map").addEventListener("click", () => toggleMap(item));
  return li;
}

function toggleMap(item) {
  item.showMap = !item.showMap;
  const button = item.element.querySelector(".map");
  button.setAttribute("aria-pressed", String(item.showMap));
  button.textContent = item.showMap ? "Hide map" : "Show map";
  item.element.querySelector("img").src = item.showMap ? item.overlayUrl : item.photoUrl;
}

function showScore(item, body) {
  item.score = body.memorability;
  item.overlayUrl = `data:image/png;base64,${body.overlay}`;
  const score = item.element.querySelector(".score");
  score.textContent = item.score.toFixed(3);
  score.classList.remove("pending");
  const bar = item.element.querySelector(".bar");
  bar.setAttribute("aria-valuenow", String(item.score));
  bar.firstElementChild.style.width = `${(item.score * 100).toFixed(1)}%`;
  item.element.querySelector(".map").disabled = false;
}

function showError(item, message) {
  item.failed = true;
  const score = item.element.querySelector(".score");
  score.textContent = "not scored";
  score.classList.remove("pending");
  const error = item.element.querySelector(".error");
  error.textContent = message;
  error.hidden = false;
}

// Most memorable first; photos still waiting next; files that failed last.
function sortCards() {
  const rank = (item) => (item.score !== undefined ? 0 : item.failed ? 2 : 1);
  items.sort((a, b) => rank(a) - rank(b) || (b.score ?? 0) - (a.score ?? 0) || a.order - b.order);
  for (const item of items) results.appendChild(item.element);
}

async function explain(item) {
  await limitsLoaded;
  if (item.file.size > limits.max_bytes) {
    showError(item, `This file is ${megabytes(item.file.size)}; the server takes at most ` +
      `${megabytes(limits.max_bytes)} per request.`);
    return;
  }
  const form = new FormData();
  form.append("image", item.file, item.file.name);
  let response;
  try {
    response = await fetch("/model/explain", { method: "POST", body: form });
  } catch (error) {
    showError(item, "The server did not answer. Is it running, and is the file under its size limit?");
    return;
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    showError(item, `The server answered ${response.status} ${response.statusText}.`);
    return;
  }
  if (response.ok && body.status === "ok") showScore(item, body);
  else showError(item, `Could not score this file: ${body.message || response.statusText}`);
}

function addFiles(files) {
  for (const file of files) {
    const item = { file, order: items.length, photoUrl: URL.createObjectURL(file), showMap: false };
    item.element = card(item);
    items.push(item);
    queue = queue.then(() => explain(item)).then(sortCards);
  }
  sortCards();
}

input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
}
for (const type of ["dragleave", "drop"]) {
  drop.addEventListener(type, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => { event.preventDefault(); addFiles(event.dataTransfer.files); });
