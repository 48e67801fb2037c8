// Videos on the /app page: each dropped video goes to POST /model/video (one at a time, so that
// the photos' scores are not held up), and its card shows the timeline of the main output
// (web/outputs.js) as a chart, the best 3-second clip shaded on it, and the best moments as
// thumbnails, of that output as the API chooses them; a click on a thumbnail shows that moment's
// map from POST /model/explain. app.js routes the files that the server says are videos here (kindsOf).
"use strict";

const videoList = document.getElementById("videos");
const videos = [];
const CLIP_SECONDS = 3;
const SVG = "http://www.w3.org/2000/svg";
let videoQueue = Promise.resolve(); // one video at a time

// What each file is, as the server says from its first bytes (POST /model/kind), never by its
// name or MIME type: a video named .jpg is a video. A file whose kind could not be had goes the
// photos' way, whose answer then says what is wrong with it.
async function kindsOf(files) {
  await limitsLoaded;
  const kinds = [];
  for (let start = 0; start < files.length; start += limits.max_files) {
    const batch = files.slice(start, start + limits.max_files);
    const form = new FormData();
    for (const file of batch) form.append("file", file.slice(0, limits.kind_bytes), file.name);
    const { ok, body } = await post("/model/kind", form);
    kinds.push(...batch.map((_, i) => (ok ? body.kinds[i].kind : "image")));
  }
  return kinds;
}

function addVideo(file) {
  const video = { file, element: videoCard(file) };
  videos.push(video);
  videoList.appendChild(video.element);
  videoQueue = videoQueue.then(() => scoreVideo(video));
  updateToolbar();
}

function videoCard(file) {
  const li = document.createElement("li");
  li.className = "card video";
  li.innerHTML = `
    <div>
      <div class="name"></div>
      <div class="score pending">scoring frames…</div>
      <figure class="timeline" hidden><figcaption></figcaption></figure>
      <div class="moments" hidden></div>
      <button type="button" class="remove">Remove</button>
      <p class="error" role="alert" hidden></p>
    </div>`;
  li.querySelector(".name").textContent = file.name;
  li.querySelector(".remove").setAttribute("aria-label", `Remove ${file.name}`);
  li.querySelector(".remove").addEventListener("click", () => {
    videos.splice(videos.indexOf(videos.find((v) => v.element === li)), 1);
    li.remove();
    updateToolbar();
  });
  return li;
}

async function scoreVideo(video) {
  let answer = await postVideo(video.file, CLIP_SECONDS);
  if (!answer.ok && /^clip is/.test(answer.body.message ?? "")) answer = await postVideo(video.file); // shorter than a clip
  const { ok, body } = answer;
  const score = video.element.querySelector(".score");
  score.classList.remove("pending");
  if (!ok) {
    score.textContent = "not scored";
    video.error = body.message;
    const error = video.element.querySelector(".error");
    error.textContent = `Could not score this video: ${body.message}`;
    error.hidden = false;
    return;
  }
  video.body = body;
  score.textContent = `${body.mean.toFixed(3)} on average, ${body.frames} frames` +
    (body.complete ? "" : " (the file ended early)");
  drawTimeline(video, body);
  showMoments(video, body);
  updateToolbar();
}

function postVideo(file, clip) {
  const form = new FormData();
  form.append("video", file, file.name);
  form.append("fps", "1");
  form.append("top", "3");
  if (clip) form.append("clip", String(clip));
  return post("/model/video", form);
}

function drawTimeline(video, body) {
  const main = field(limits.default_output), w = words();
  const width = 600, height = 160, pad = 24;
  const span = Math.max(body.duration, 1e-6);
  const x = (t) => pad + (t / span) * (width - 2 * pad);
  const y = (m) => height - pad - m * (height - 2 * pad);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const best = body.clip;
  svg.setAttribute("aria-label", `${capital(w.name)} of ${video.file.name} over ${body.duration.toFixed(1)} s, ` +
    `from ${body.min.toFixed(3)} to ${body.max.toFixed(3)}` +
    (best ? `; the ${w.most} ${CLIP_SECONDS}-second clip starts at ${best.start.toFixed(1)} s` : ""));
  const add = (name, attributes) => {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    svg.appendChild(node);
    return node;
  };
  if (best) {
    add("rect", { class: "clip", x: x(best.start), y: pad / 2, width: x(best.end) - x(best.start), height: height - pad,
      "data-start": best.start, "data-end": best.end });
  }
  add("line", { class: "axis", x1: pad, y1: y(0), x2: width - pad, y2: y(0) });
  add("polyline", { class: "curve", points: body.timeline.map((p) => `${x(p.time)},${y(p[main])}`).join(" ") });
  const familiar = beside("false_alarm");
  if (familiar) { // the false-alarm rate, dashed, on the same 0 to 1 scale
    const rate = field("false_alarm");
    add("polyline", { class: "curve false-alarm",
      points: body.timeline.map((p) => `${x(p.time)},${y(p[rate])}`).join(" ") });
  }
  for (const point of body.timeline) {
    add("circle", { class: "point", cx: x(point.time), cy: y(point[main]), r: 2.5,
      "data-time": point.time, [`data-${main}`]: point[main] });
  }
  for (const moment of body.moments) {
    add("circle", { class: "moment", cx: x(moment.time), cy: y(moment[main]), r: 5 });
  }
  const figure = video.element.querySelector(".timeline");
  figure.insertBefore(svg, figure.firstChild);
  figure.querySelector("figcaption").textContent =
    `${capital(w.name)} (0 to 1)${familiar ? " and, dashed, the false-alarm rate" : ""} against time ` +
    `(0 to ${body.duration.toFixed(1)} s)` + (best
      ? `; shaded: the ${w.most} ${CLIP_SECONDS}-second clip, ${best.start.toFixed(1)}–${best.end.toFixed(1)} s ` +
        `(${best[main].toFixed(3)})` : "");
  figure.hidden = false;
}

function capital(text) {
  return text[0].toUpperCase() + text.slice(1);
}

function showMoments(video, body) {
  const box = video.element.querySelector(".moments");
  const main = field(limits.default_output);
  for (const moment of body.moments) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "moment";
    button.setAttribute("aria-pressed", "false");
    const label = `moment at ${moment.time.toFixed(1)} s, ${moment[main].toFixed(3)}`;
    button.setAttribute("aria-label", `Show the map of the ${label}`);
    const img = document.createElement("img");
    img.src = `data:image/jpeg;base64,${moment.thumbnail}`;
    img.alt = label;
    const caption = document.createElement("span");
    caption.textContent = `${moment.time.toFixed(1)} s · ${moment[main].toFixed(3)}`;
    button.append(img, caption);
    button.addEventListener("click", () => toggleMomentMap(moment, button, img));
    box.appendChild(button);
  }
  box.hidden = body.moments.length === 0;
}

// The map of a moment: /model/explain on the moment's frame, as the thumbnail holds it.
async function toggleMomentMap(moment, button, img) {
  if (!moment.overlay) {
    const bytes = Uint8Array.from(atob(moment.thumbnail), (c) => c.charCodeAt(0));
    const form = new FormData();
    form.append("image", new Blob([bytes], { type: "image/jpeg" }), `frame-${moment.time}.jpg`);
    button.disabled = true;
    const { ok, body } = await post("/model/explain", form);
    button.disabled = false;
    if (!ok) return;
    moment.overlay = `data:image/png;base64,${body.overlay}`;
  }
  const showing = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(showing));
  img.src = showing ? moment.overlay : `data:image/jpeg;base64,${moment.thumbnail}`;
}

// CSV rows of the videos: one per frame of the timeline, with its time and the photos' ``columns``
// (a frame has no mirror delta) and no tie group.
function videoRows(columns) {
  const rows = [];
  for (const video of videos) {
    if (!video.body) {
      rows.push([video.file.name, "", ...columns.map(() => ""), "", video.error ?? ""]);
      continue;
    }
    for (const point of video.body.timeline) {
      rows.push([video.file.name, point.time.toFixed(3), ...columns.map((name) => point[name]?.toFixed(6) ?? ""), "",
        ""]);
    }
  }
  return rows;
}
