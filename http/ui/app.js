// The ClusterKit dashboard: polls the cluster API of the node that served it (same origin)
// and follows its cluster events (GET /events, server-sent events). No dependencies.
"use strict";

const POLL_MS = 2000;
const SAMPLES = 60;
const rates = { sets: [], gets: [] };
const latencies = [];
let lastMetrics = null;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function renderNodes(cluster) {
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren();
  for (const n of cluster.nodes) {
    const row = el("tr", { "data-node": n.id });
    row.append(el("td", {}, n.id));
    row.append(el("td", { class: "status status-" + n.status }, n.status));
    row.append(el("td", {}, n.is_leader ? "leader" : (n.meta_role || "-")));
    row.append(el("td", {}, String(n.partitions_hosted ?? "")));
    row.append(el("td", {}, String(n.partitions_led ?? "")));
    row.append(el("td", {}, n.http_addr));
    row.append(el("td", {}, n.kv_addr));
    body.append(row);
  }
  const alive = cluster.nodes.filter((n) => n.status === "alive").length;
  document.getElementById("summary").textContent =
    `cluster ${cluster.cluster_id.slice(0, 8)} · ${cluster.nodes.length} nodes (${alive} alive) · ` +
    `${cluster.partition_count} partitions × ${cluster.replication_factor} · meta leader ${cluster.leader_id || "none"}`;
}

function renderGrid(cluster, partitions) {
  const ids = cluster.nodes.map((n) => n.id);
  const head = document.querySelector("#grid thead");
  head.replaceChildren();
  const hr = el("tr");
  hr.append(el("th", {}, "partition"));
  for (const id of ids) hr.append(el("th", {}, id));
  hr.append(el("th", {}, "status"));
  head.append(hr);
  const body = document.querySelector("#grid tbody");
  body.replaceChildren();
  for (const p of partitions.partitions) {
    const row = el("tr", { "data-partition": String(p.index) });
    row.append(el("td", {}, p.id));
    for (const id of ids) {
      let mark = "";
      if (p.primary_node === id) mark = "L";
      else if ((p.replica_nodes || []).includes(id)) mark = "R";
      else if ((p.learners || []).includes(id)) mark = "l";
      row.append(el("td", { class: mark, "data-node": id }, mark));
    }
    row.append(el("td", {}, p.status));
    body.append(row);
  }
}

function renderMoves(rebalance) {
  const box = document.getElementById("moves");
  box.replaceChildren();
  const total = rebalance.moves_total || 0;
  const done = rebalance.moves_done || 0;
  document.getElementById("moves-summary").textContent =
    `(${rebalance.running ? "running" : "idle"}; ${done}/${total} done since this node's view started)`;
  const bar = el("div", { class: "move" });
  const outer = el("span", { class: "bar" });
  const inner = el("span");
  inner.style.width = (total ? Math.round((100 * done) / total) : 100) + "%";
  outer.append(inner);
  bar.append(outer, document.createTextNode(` ${done}/${total} moves`));
  box.append(bar);
  for (const m of rebalance.moves || []) {
    box.append(el("div", { class: "move" },
      `partition-${m.partition}: ${m.from || "-"} → ${m.to || "-"} (${m.state})`));
  }
}

function pushSample(list, value) {
  list.push(value);
  if (list.length > SAMPLES) list.shift();
}

function drawChart(canvas, series, colors) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...series.flat());
  ctx.fillStyle = "#5f6368";
  ctx.font = "11px sans-serif";
  ctx.fillText(max.toFixed(max < 10 ? 1 : 0), 4, 12);
  series.forEach((values, i) => {
    ctx.strokeStyle = colors[i];
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, x) => {
      const px = (x / (SAMPLES - 1)) * (w - 10) + 5;
      const py = h - 5 - (v / max) * (h - 20);
      if (x === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  });
}

function renderMetrics(metrics) {
  const now = performance.now();
  if (lastMetrics) {
    const seconds = Math.max(0.001, (now - lastMetrics.at) / 1000);
    pushSample(rates.sets, Math.max(0, (metrics.kv.sets - lastMetrics.kv.sets) / seconds));
    pushSample(rates.gets, Math.max(0, (metrics.kv.gets - lastMetrics.kv.gets) / seconds));
    pushSample(latencies, metrics.requests.latency.p99_ms || 0);
  }
  lastMetrics = { at: now, kv: metrics.kv };
  drawChart(document.getElementById("rate"), [rates.sets, rates.gets], ["#1a73e8", "#137333"]);
  drawChart(document.getElementById("latency"), [latencies], ["#c5221f"]);
}

async function poll() {
  try {
    const [cluster, partitions, rebalance, metrics] = await Promise.all([
      getJSON("/cluster"), getJSON("/partitions"), getJSON("/rebalance"), getJSON("/metrics"),
    ]);
    renderNodes(cluster);
    renderGrid(cluster, partitions);
    renderMoves(rebalance);
    renderMetrics(metrics);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("updated").textContent = "not reachable: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}

function followEvents() {
  const list = document.getElementById("events");
  const source = new EventSource("/events");
  const show = (msg) => {
    const e = JSON.parse(msg.data);
    const when = new Date(e.unix_ms).toLocaleTimeString();
    let what = e.kind;
    if (e.node) what += " " + e.node;
    if (e.kind.startsWith("partition_")) what += " partition-" + e.partition;
    if (e.kind === "partition_moved") what += ` ${e.from.join(",")} → ${e.to.join(",")}`;
    list.prepend(el("li", { "data-kind": e.kind }, `#${e.seq} ${when} ${what}`));
    while (list.children.length > 200) list.lastChild.remove();
  };
  for (const kind of ["node_joined", "node_rejoined", "node_suspect", "node_dead", "node_left",
                      "partition_leader_changed", "partition_moved", "rebalance_started",
                      "rebalance_finished", "meta_leader_changed"]) {
    source.addEventListener(kind, show);
  }
}

poll();
followEvents();
