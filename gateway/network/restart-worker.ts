/**
 * A gateway process for the restart test: opens the link on the given store while the
 * network is down, takes `count` stand-in approvals (each queued as an 0120 advice), prints
 * one JSON line with the advice ids and STANs, and then waits to be killed — so the test
 * restarts the gateway with a non-empty store-and-forward queue, as a crash would leave it.
 */
import { createLogger } from '../../core/index.js';
import { NetworkLink } from './link.js';
import { LinkStore } from './store.js';

const [portText, storeFile, countText, tokenPan, tokenExpiry, acquirerId] = process.argv.slice(2);
const count = Number(countText);
if (!portText || !storeFile || !tokenPan || !tokenExpiry || !acquirerId || !Number.isInteger(count) || count < 1 || count > 100) {
  process.stderr.write('usage: restart-worker PORT STORE COUNT TOKEN_PAN TOKEN_EXPIRY ACQUIRER_ID\n');
  process.exit(2);
}
const store = new LinkStore(storeFile);
const link = new NetworkLink({
  name: 'visa-like', spec: 'visa-like', port: Number(portText), store, acquirerId, trid: '40000000001', timeout_ms: 300,
  reconnect_ms_min: 50, reconnect_ms_max: 200, logger: createLogger({ name: 'restart-worker', level: 'silent' }),
});
link.start();
const results = [];
for (let i = 0; i < count; i += 1) {
  results.push(await link.authorize({
    tokenPan, tokenExpiry, amount_minor: 300n + BigInt(i), currency: 978, mcc: '5411', terminalId: 'PALM0002', merchantId: 'MERCHANT0000042', palmIdentity: `restart-${i}`,
  }));
}
process.stdout.write(`${JSON.stringify(results.map((r) => ({ approved: r.approved, source: r.source, adviceId: r.adviceId, stan: r.stan })))}\n`);
// Wait to be killed: the test ends this process with SIGKILL, like a crash.
setInterval(() => undefined, 60_000);
