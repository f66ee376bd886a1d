// Port reuse with no privileges: connects from local port LPORT to ADDR:PORT and sends the
// ClientHello in FIRST, resets the connection (RST), then connects again from the same local
// port to the same address and port and sends the ClientHello in SECOND, and resets that too.
// usage: node reuse.js ADDR PORT LPORT FIRST SECOND [PAUSE_MS]
'use strict';
const net = require('net');
const fs = require('fs');
const [addr, port, lport, first, second, pause] = process.argv.slice(2);
const wait = Number(pause || 200);

function once(file) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: addr, port: Number(port), localPort: Number(lport) }, () => {
      s.write(fs.readFileSync(file));
      setTimeout(() => s.resetAndDestroy(), wait);
    });
    s.on('error', reject);
    s.on('close', resolve);
  });
}

(async () => {
  await once(first);
  await once(second);
  console.log('both connections made from local port ' + lport);
})().catch((e) => { console.error(e); process.exit(1); });
