// Peer benchmark: the same .onnx model under onnxruntime-node (the official Node binding).
// usage: node ort_node.js MODEL THREADS RUNS   -> one JSON line {p50_ms, p95_ms, load_ms}
// The input is a fixed pseudo-random 1x3x150x200 tensor: model latency does not depend on it.
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, runs] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const data = new Float32Array(3 * 150 * 200);
  let s = 1;
  for (let i = 0; i < data.length; i++) { s = (s * 16807) % 2147483647; data[i] = (s / 2147483647) * 4 - 2; }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, 150, 200]) };
  for (let i = 0; i < Math.min(10, runs); i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(JSON.stringify({ p50_ms: q(0.5), p95_ms: q(0.95), load_ms: loadMs }));
}
main().catch((e) => { console.error(e); process.exit(1); });
