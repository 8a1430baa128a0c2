// Benchmark load generator: the real socket.io-client, thousands of connections in one process.
// Every loop is bounded in count and time, and the process exits by itself (hard deadline).
// Usage: node loadgen.mjs <scenario> '<json options>'   -> prints one JSON result line.
//   fanout   {urls, clients, window, seconds}      deliveries/s, latency, lost
//   rate     {urls, clients, perSecond, seconds}   latency at a fixed delivery rate
//   echo     {urls, clients, seconds}              ack round trips/s
//   connect  {urls, clients, transports}           connections/s
import { io } from "socket.io-client";
import { performance } from "node:perf_hooks";

const [scenario, rawOptions] = process.argv.slice(2);
const opts = JSON.parse(rawOptions || "{}");
const HARD_DEADLINE_MS = (opts.seconds ?? 10) * 1000 + 120_000;
setTimeout(() => { console.error("loadgen: hard deadline reached"); process.exit(3); }, HARD_DEADLINE_MS).unref();

const PAD = "x".repeat(opts.padBytes ?? 60); // ~100-byte messages with the timestamp and seq
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function withTimeout(promise, ms, what) {
  return Promise.race([promise, sleep(ms).then(() => { throw new Error(`timeout: ${what}`); })]);
}

// opts.transports: the default for every scenario (e.g. ["polling"]); opts.affinity: each
// client sends ?affinity=c<i>, which the sticky deploy/nginx.conf hashes on.
async function connectMany(urls, count, transports = opts.transports ?? ["websocket"], batch = 100) {
  const sockets = [];
  for (let start = 0; start < count; start += batch) {
    const group = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const options = { transports, forceNew: true, reconnection: false };
      if (opts.affinity) options.query = { affinity: `c${i}-${Math.random()}` };
      const socket = io(urls[i % urls.length], options);
      sockets.push(socket);
      group.push(new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      }));
    }
    await withTimeout(Promise.all(group), 60_000, "connect");
  }
  return sockets;
}

async function waitUpgraded(sockets) {
  for (let i = 0; i < 200; i++) {
    if (sockets.every((s) => s.io.engine.transport.name === "websocket")) return true;
    await sleep(50);
  }
  return false;
}

const ack = (socket, event, data) => withTimeout(socket.emitWithAck(event, data), 30_000, event);

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function receivers(urls, count) {
  const sockets = await connectMany(urls, count);
  for (let i = 0; i < sockets.length; i += 200) {
    await Promise.all(sockets.slice(i, i + 200).map((s) => ack(s, "join", { room: "bench" })));
  }
  const stats = { delivered: 0, latencies: [], lastAt: 0 };
  for (const s of sockets) {
    s.on("msg", (payload) => {
      stats.delivered++;
      const t = now();
      stats.lastAt = t;
      if ((stats.delivered & 7) === 0) stats.latencies.push(t - payload.t); // sample 1 in 8
    });
  }
  return { sockets, stats };
}

async function drain(stats, expected, maxMs = 10_000) {
  const until = now() + maxMs;
  while (stats.delivered < expected && now() < until) await sleep(20);
}

function latencySummary(latencies) {
  const sorted = latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

async function fanout({ urls, clients, window = 16, seconds = 5, senderUrl }) {
  const { sockets, stats } = await receivers(urls, clients);
  const [sender] = await connectMany([senderUrl || urls[0]], 1);
  let sent = 0;
  let seq = 0;
  const started = now();
  const stopAt = started + seconds * 1000;
  const maxBroadcasts = 1_000_000; // bound in count as well as time
  async function lane() {
    while (now() < stopAt && seq < maxBroadcasts) {
      seq++;
      await ack(sender, "broadcast", { room: "bench", payload: { t: now(), seq, pad: PAD } });
      sent++;
    }
  }
  await Promise.all(Array.from({ length: window }, lane));
  const expected = sent * clients;
  await drain(stats, expected);
  const elapsed = (stats.lastAt - started) / 1000;
  [...sockets, sender].forEach((s) => s.close());
  return { scenario: "fanout", clients, window, broadcasts: sent, delivered: stats.delivered,
    lost: expected - stats.delivered, seconds: elapsed, perSecond: stats.delivered / elapsed,
    ...latencySummary(stats.latencies) };
}

async function rate({ urls, clients, perSecond = 5000, seconds = 10 }) {
  const { sockets, stats } = await receivers(urls, clients);
  const [sender] = await connectMany([urls[0]], 1);
  const broadcastsPerSecond = perSecond / clients;
  const total = Math.round(broadcastsPerSecond * seconds);
  const interval = 1000 / broadcastsPerSecond;
  const started = now();
  const pending = [];
  for (let seq = 1; seq <= total; seq++) {
    const due = started + seq * interval;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    pending.push(ack(sender, "broadcast", { room: "bench", payload: { t: now(), seq, pad: PAD } }));
  }
  await Promise.all(pending);
  await drain(stats, total * clients);
  [...sockets, sender].forEach((s) => s.close());
  return { scenario: "rate", clients, targetPerSecond: perSecond, broadcasts: total,
    delivered: stats.delivered, lost: total * clients - stats.delivered,
    ...latencySummary(stats.latencies) };
}

async function echo({ urls, clients = 50, seconds = 5 }) {
  const sockets = await connectMany(urls, clients);
  let trips = 0;
  const latencies = [];
  const started = now();
  const stopAt = started + seconds * 1000;
  await Promise.all(sockets.map(async (s) => {
    for (let i = 0; i < 10_000_000 && now() < stopAt; i++) {
      const t = now();
      const back = await ack(s, "echo", { t, pad: PAD });
      if (back.t !== t) throw new Error("echo mismatch");
      trips++;
      if ((trips & 7) === 0) latencies.push(now() - t);
    }
  }));
  const elapsed = (now() - started) / 1000;
  sockets.forEach((s) => s.close());
  return { scenario: "echo", clients, trips, seconds: elapsed, perSecond: trips / elapsed,
    ...latencySummary(latencies) };
}

async function connect({ urls, clients = 1000, transports = ["websocket"], holdMs = 1500 }) {
  const started = now();
  const sockets = await connectMany(urls, clients, transports, 50);
  const upgraded = transports.length > 1 ? await waitUpgraded(sockets) : true;
  const elapsed = (now() - started) / 1000;
  // Hold the connections idle so the caller can read server memory, then report.
  console.log(JSON.stringify({ phase: "connected", clients }));
  await sleep(holdMs);
  sockets.forEach((s) => s.close());
  return { scenario: "connect", clients, transports, upgraded, seconds: elapsed,
    perSecond: clients / elapsed };
}

const scenarios = { fanout, rate, echo, connect };
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
scenarios[scenario](opts).then(
  (result) => { console.log(JSON.stringify(result)); process.exit(0); },
  (err) => { console.error(err.stack || String(err)); process.exit(1); },
);
