// What the server serves, as the page needs it (GET /app/limits.json): its limits and its outputs.
// The page's main number is the default output's (memorability where it is served, else the one
// served: MODEL_OUTPUTS=false_alarm), as the API's maps, regions, video moments and crops are; the
// others are shown beside it. Each field the page reads or exports is named as the server names it
// (limits.fields, made by core/model/outputs.py's field), so no name is made here.
"use strict";

// Until the server has said: memorability alone, with its bare names.
let limits = { max_bytes: Infinity, max_files: 16, effect_scale: 0.05, tie_threshold: 0, outputs: ["memorability"],
  default_output: "memorability", kind_bytes: 65536, fields: { memorability: { score: "memorability",
    mirror_delta: "mirror_delta", delta_vs_center: "delta_vs_center", effect: "effect", spread: "spread",
    verdict: "verdict" } } };

// The words of each output, where it is the main number: what it is called and what a high one means.
// The page's HTML holds memorability's; a false-alarm rate is never called memorability.
const WORDS = {
  memorability: {
    name: "memorability",
    question: "How memorable is this photo?",
    intro: "Drop photos to see how likely a person is to remember each one after a single glance, from 0 to " +
      "1, as predicted by the model this server runs. They are sorted from most to least memorable.",
    score: "the score", // what hiding a region moves, in the map's legend and the regions' sentences
    raises: "hiding raises the score",
    lowers: "hiding lowers it (the region is memorable)",
    regionMakes: "the region makes the photo memorable",
    crops: "Most memorable crops",
    most: "most memorable",
  },
  false_alarm: {
    name: "false-alarm rate",
    question: "How familiar does this photo feel?",
    intro: "Drop photos to see each one's false-alarm rate, from 0 to 1, as predicted by the model this server " +
      "runs: the share of people who never saw it who would still say they had. A high one means the photo " +
      "feels familiar even when it is new. They are sorted from most to least familiar.",
    score: "the false-alarm rate",
    raises: "hiding raises the false-alarm rate",
    lowers: "hiding lowers it (the region feels familiar)",
    regionMakes: "the region makes the photo feel familiar",
    crops: "Crops that feel most familiar",
    most: "most familiar",
  },
};

function words() {
  return WORDS[limits.default_output];
}

// The field of an output's measure in the server's answers and the page's exports.
function field(output, measure = "score") {
  return limits.fields[output][measure];
}

// The outputs as the page shows them: the main one first, then the others as the server serves them.
function shown() {
  return [limits.default_output, ...limits.outputs.filter((output) => output !== limits.default_output)];
}

function beside(output) {
  return output !== limits.default_output && limits.outputs.includes(output);
}

// The page's own words follow the main output: each [data-word] element says its word.
function sayWords() {
  const w = words();
  for (const element of document.querySelectorAll("[data-word]")) element.textContent = w[element.dataset.word];
  document.title = document.title.replace(/^[^·]*/, `${w.question} `); // the service's name stays
  document.querySelector(".legend .scale").setAttribute("aria-label", `Blue: hiding the region raises ${w.score}. ` +
    `Clear: no change. Red: hiding it lowers ${w.score}, so ${w.regionMakes}.`);
}

const limitsLoaded = fetch("/app/limits.json").then((r) => r.json()).then((l) => {
  limits = l;
  const scale = `${l.effect_scale.toFixed(2)}`;
  document.getElementById("legend-low").textContent = `−${scale}`;
  document.getElementById("legend-high").textContent = `+${scale}`;
  document.getElementById("noise").textContent = l.tie_threshold.toFixed(3);
  document.getElementById("false-alarm-words").hidden = !beside("false_alarm");
  document.getElementById("sort-by-label").hidden = shown().length === 1;
  document.getElementById("sort-by").value = l.default_output; // highest first of the main output until asked
  sayWords();
}).catch(() => {});
