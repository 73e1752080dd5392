#!/usr/bin/env node
// Keep-alive GET load for comparing plain HTTP and HTTPS through the same front (issue #18):
//   node scripts/tls-keepalive-load.js URL SECONDS CONCURRENCY
// (for https, NODE_EXTRA_CA_CERTS=<the sandbox ca.pem>). Bounded by SECONDS; 127.0.0.1 only.
const [url, secs, conc] = [process.argv[2], +process.argv[3], +process.argv[4]];
const mod = url.startsWith('https') ? require('https') : require('http');
const agent = new mod.Agent({keepAlive: true, maxSockets: conc});
let n = 0, err = 0; const end = Date.now() + secs * 1000; const lat = [];
function one() {
  if (Date.now() > end) return Promise.resolve();
  const t = process.hrtime.bigint();
  return new Promise((res) => {
    mod.get(url, {agent}, (r) => { r.resume(); r.on('end', () => { n++; lat.push(Number(process.hrtime.bigint() - t) / 1e6); res(); }); })
      .on('error', () => { err++; res(); });
  }).then(one);
}
Promise.all(Array.from({length: conc}, one)).then(() => {
  lat.sort((a, b) => a - b);
  console.log(`${url}: ${(n / secs).toFixed(0)} req/s, p50 ${lat[lat.length >> 1].toFixed(2)} ms, p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(2)} ms, errors ${err}`);
  process.exit(0);
});
