// voicegraph playground: the page's side of the WebSocket protocol (voicegraph/playground/_protocol.py).
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get("token");

// What the page did, for tests and the curious (window.voicegraph in the console).
const stats = {
  session: null, state: "idle", framesSent: 0, framesReceived: 0, samplesPlayed: 0,
  flushes: 0, diagramUpdates: 0, timelines: 0, agentLive: [], events: [], closed: null,
};
window.voicegraph = stats;

let ws = null, context = null, stream = null, player = null, capture = null;
let userBubble = null, agentBubble = null, micRequested = false;

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

function bubble(who, text, interim) {
  const li = document.createElement("li");
  li.className = who + (interim ? " interim" : "");
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = who === "user" ? "you" : "agent";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(name, body);
  $("transcript").append(li);
  li.scrollIntoView({ block: "nearest" });
  return li;
}

function setText(li, text, final) {
  li.querySelector(".text").textContent = text;
  if (final) li.classList.remove("interim");
}

function setState(state) {
  stats.state = state;
  const el = $("state");
  el.dataset.state = state;
  el.textContent = state;
  if (state === "speaking" && !agentBubble) agentBubble = bubble("agent", "…", true);
}

function flushPlayback() {
  stats.flushes++;
  if (player) player.port.postMessage({ type: "flush" });
}

function onEvent(message) {
  stats.events.push(message.type);
  switch (message.type) {
    case "ready":
      stats.session = message.session;
      stats.outputRate = message.sample_rate;
      setState("initializing");
      break;
    case "state":
      setState(message.state);
      if (!micRequested && context) micRequested = true, openMicrophone().catch((error) => { $("status").textContent = "no microphone: " + error; });
      break;
    case "user":
      if (!userBubble) userBubble = bubble("user", message.text || "…", !message.final);
      else setText(userBubble, message.text || "…", message.final);
      if (message.final) userBubble = null;
      break;
    case "agent":
      if (!message.final) {  // the words heard so far, after each sentence
        if (!agentBubble) agentBubble = bubble("agent", "…", true);
        setText(agentBubble, message.text || "…", false);
        stats.agentLive.push(message.text);
        break;
      }
      if (!agentBubble) agentBubble = bubble("agent", message.text, false);
      setText(agentBubble, message.text || "(nothing heard)", true);
      if (message.interrupted) agentBubble.classList.add("interrupted");
      agentBubble = null;
      break;
    case "interrupted":
      flushPlayback();
      if (agentBubble) agentBubble.classList.add("interrupted");
      break;
    case "diagram":
      $("diagram").innerHTML = message.svg;
      stats.diagramUpdates++;
      showMetrics(message.edges, message.nodes);
      $("diagram-info").textContent = `update ${stats.diagramUpdates}`;
      break;
    case "timeline":
      $("timeline").src = message.png;
      $("timeline").hidden = false;
      $("timeline-hint").hidden = true;
      stats.timelines++;
      break;
    case "error":
      $("status").textContent = "error: " + message.message;
      break;
    case "closed":
      $("status").textContent = "session closed: " + message.reason;
      break;
  }
}

function showMetrics(edges, nodes) {
  const rows = [];
  for (const [name, ms] of Object.entries(nodes || {})) rows.push(["node", name, ms.toFixed(2) + " ms/frame"]);
  for (const [name, depth] of Object.entries(edges || {})) if (depth) rows.push(["queue", name, String(depth)]);
  const table = $("metrics");
  table.replaceChildren();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const cell of cells) { const td = document.createElement("td"); td.textContent = cell; tr.append(td); }
    table.append(tr);
  }
}

function onAudio(buffer) {
  stats.framesReceived++;
  const pcm = new Int16Array(buffer);
  const samples = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
  if (player) player.port.postMessage({ type: "audio", rate: stats.outputRate || 24000, samples }, [samples.buffer]);
}

// The microphone opens once the agent listens (its models may take seconds to load):
// nothing said before that is lost.
async function openMicrophone() {
  stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  capture = new AudioWorkletNode(context, "capture");
  capture.port.onmessage = (event) => {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(event.data); stats.framesSent++; }
  };
  context.createMediaStreamSource(stream).connect(capture);
  $("status").textContent = "listening: talk to the agent";
  $("talk").textContent = "Listening…";
}

async function start() {
  $("talk").disabled = true;
  $("status").textContent = "loading the agent…";
  context = new AudioContext();  // in the click: the browser lets it play
  await context.audioWorklet.addModule("static/capture-worklet.js");
  await context.audioWorklet.addModule("static/player-worklet.js");
  player = new AudioWorkletNode(context, "player");
  player.port.onmessage = (event) => { stats.samplesPlayed = event.data.played; };
  player.connect(context.destination);
  await context.resume();

  const id = newId();
  const url = new URL("ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.searchParams.set("session", id);
  if (token) url.searchParams.set("token", token);
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "start", sample_rate: 16000 }));
    $("hangup").disabled = false;
    $("talk").classList.add("live");
    $("talk").textContent = "Loading…";
  };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") onEvent(JSON.parse(event.data));
    else onAudio(event.data);
  };
  ws.onclose = (event) => {
    stats.closed = { code: event.code, reason: event.reason };
    if (event.code !== 1000 && event.code !== 1005) {
      $("status").textContent = `closed (${event.code}): ${event.reason || "connection lost"}`;
    }
    stop();
  };
}

function stop() {
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "the page ended the session");
  ws = null;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  if (context) context.close();
  stream = context = player = capture = null;
  micRequested = false;
  setState("idle");
  $("state").textContent = "not connected";
  $("talk").disabled = false;
  $("talk").classList.remove("live");
  $("talk").textContent = "Talk";
  $("hangup").disabled = true;
}

$("talk").addEventListener("click", () => start().catch((error) => {
  $("status").textContent = "cannot start: " + error;
  $("talk").disabled = false;
}));
$("hangup").addEventListener("click", stop);
