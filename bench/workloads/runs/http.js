// 2,000 keep-alive loopback requests per round, rounds alternating with the
// recorder's http bridges subscribed and unsubscribed (same recorded
// process): prints the median µs per request of each.
const http = require('node:http');
const { installBridges, uninstallBridges } = require(process.env.NODEREC_BRIDGES_MODULE);

const N = 2000;
const server = http.createServer((req, res) => res.end('ok'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function one(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const times = { on: [], off: [] };
  for (let round = 0; round < 10; round++) {
    const mode = round % 2 === 0 ? 'on' : 'off';
    if (mode === 'on') installBridges();
    else uninstallBridges();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await one(port);
    times[mode].push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  console.log(JSON.stringify({ onUs: med(times.on), offUs: med(times.off) }));
  agent.destroy();
  server.close();
});
