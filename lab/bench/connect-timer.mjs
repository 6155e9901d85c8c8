// Times TCP connects from inside a pod: `node connect-timer.mjs <ip> <port> <count> <seconds>` opens
// up to <count> connections one after the other (stopping after <seconds>), times each from connect()
// to the 'connect' event (the SYN out, the SYN-ACK back: every netfilter hook both cross), and resets
// it at once (RST, so that no TIME_WAIT piles up). Prints one JSON line: the samples' count and
// percentiles in microseconds. Run by lab/bench/rule-scale.ts through lab.exec; plain JavaScript so
// that node runs it without a build step.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const [host, portText, countText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const deadline = performance.now() + Number(secondsText) * 1000;

/** @type {number[]} */
const samples = [];
let errors = 0;
/** @type {string | undefined} */
let firstError;

/** One connect, timed; resolves once the socket is gone. */
function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host, port });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      samples.push(Number(process.hrtime.bigint() - started) / 1000);
      socket.resetAndDestroy();
    });
    socket.on('error', (e) => {
      if (!connected) {
        errors++;
        firstError ??= e.message;
      }
      socket.destroy();
    });
    socket.once('close', resolve);
  });
}

const started = performance.now();
while (samples.length + errors < count && performance.now() < deadline) await once();
const seconds = (performance.now() - started) / 1000;
const sorted = [...samples].sort((a, b) => a - b);
const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
process.stdout.write(JSON.stringify({ connects: samples.length, errors, firstError, seconds, p10: at(0.1), p50: at(0.5), p90: at(0.9) }) + '\n');
