// The operator scripts' command lines, parsed exactly as the scripts parse them: zx's minimist with
// the settings from each script's spec, then the spec's checks. Every refusal is a UsageError (exit 2)
// whose message says what to type instead.
import { minimist } from 'zx';
import { describe, expect, it } from 'vitest';
import { backendNames } from '../backends/index.ts';
import { UsageError } from '../errors.ts';
import { IPERF3_SPEC, iperfRequestFrom } from './iperf3-wrapper.ts';
import { helpText, minimistSettings, type ParsedArgs, type ScriptSpec } from './script-options.ts';
import { LOOPBACK_SPEC, loopbackRequestFrom } from './sockmap-loopback.ts';
import { TRACE_SPEC, traceRequestFrom } from './trace-follow.ts';

function parse<T>(spec: ScriptSpec, from: (args: ParsedArgs, rejected: readonly string[]) => T, argv: string[]): T {
  const rejected: string[] = [];
  const args = minimist(argv, minimistSettings(spec, rejected)) as ParsedArgs;
  return from(args, rejected);
}

const iperf = (...argv: string[]) => parse(IPERF3_SPEC, iperfRequestFrom, argv);
const trace = (...argv: string[]) => parse(TRACE_SPEC, traceRequestFrom, argv);
const loopback = (...argv: string[]) => parse(LOOPBACK_SPEC, loopbackRequestFrom, argv);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('scripts/iperf3.mjs command line', () => {
  it('takes the defaults and every mode', () => {
    expect(iperf('--backend', 'redirect')).toEqual({ backend: 'redirect', placement: 'same-node', seconds: 10, parallel: 1, reverse: false, bidir: false, udp: false, json: false, keep: false });
    expect(iperf('--backend', 'tc', '--placement', 'cross-node', '--seconds', '3', '--length', '64K', '--parallel', '4', '--bidir', '--json', '--keep')).toMatchObject({
      backend: 'tc',
      placement: 'cross-node',
      seconds: 3,
      length: '64K',
      parallel: 4,
      bidir: true,
      json: true,
      keep: true,
    });
    expect(iperf('--backend=none', '--udp', '--bitrate', '1G')).toMatchObject({ udp: true, bitrate: '1G' });
  });

  it('refuses UDP through every backend that captures TCP only, saying why', () => {
    for (const backend of backendNames().filter((name) => name !== 'none')) {
      expect(refusal(() => iperf('--backend', backend, '--udp'))).toMatch(new RegExp(`^--udp cannot go through the ${backend} backend: .*so the datagrams would bypass it.*use --backend none`));
    }
    expect(refusal(() => iperf('--backend', 'redirect', '--udp'))).toContain('match TCP only (-p tcp)');
    expect(refusal(() => iperf('--backend', 'sockmap', '--udp'))).toContain('connect4 program rewrites TCP sockets only');
    expect(refusal(() => iperf('--backend', 'tc', '--udp'))).toContain('redirects TCP only');
  });

  it('refuses bad input with what to type instead', () => {
    expect(refusal(() => iperf())).toBe(`--backend is required: one of ${backendNames().join(', ')}`);
    expect(refusal(() => iperf('--backend', 'istio'))).toMatch(/unknown backend "istio": valid backends are none, redirect/);
    expect(refusal(() => iperf('--backend', 'none', '--placement', 'far'))).toBe('--placement takes one of same-node, cross-node, not "far"');
    expect(refusal(() => iperf('--backend', 'none', '--seconds', '0'))).toBe('--seconds takes a whole number from 1 to 600, not "0"');
    expect(refusal(() => iperf('--backend', 'none', '--seconds', '2.5'))).toBe('--seconds takes a whole number from 1 to 600, not "2.5"');
    expect(refusal(() => iperf('--backend', 'none', '--parallel', '33'))).toBe('--parallel takes a whole number from 1 to 32, not "33"');
    expect(refusal(() => iperf('--backend', 'none', '--length', '64 KB'))).toMatch(/^--length takes a size in bytes/);
    expect(refusal(() => iperf('--backend', 'none', '--length'))).toBe('--length needs a value: --length <size>');
    expect(refusal(() => iperf('--backend', 'none', '--reverse', '--bidir'))).toMatch(/^--reverse and --bidir exclude each other/);
    expect(refusal(() => iperf('--backend', 'none', '--seconds', '1', '--seconds', '2'))).toBe('--seconds was given more than once: give it once');
    expect(refusal(() => iperf('--backend', 'none', '--frob'))).toMatch(/^scripts\/iperf3.mjs does not take "--frob": its options are --backend, /);
    expect(refusal(() => iperf('--backend', 'none', 'extra'))).toMatch(/does not take "extra"/);
  });
});

describe('scripts/trace.mjs command line', () => {
  it('follows every run for 30 s unless told otherwise', () => {
    expect(trace()).toEqual({ seconds: 30, json: false });
    expect(trace('--run', 'k3x9q', '--seconds', '5', '--json')).toEqual({ runId: 'k3x9q', seconds: 5, json: true });
  });

  it('refuses a run id that is not one, and a time out of bounds', () => {
    expect(refusal(() => trace('--run', 'lab-k3x9q-client'))).toMatch(/^--run takes a run id as the lab prints it/);
    expect(refusal(() => trace('--seconds', '3601'))).toBe('--seconds takes a whole number from 1 to 3600, not "3601"');
  });
});

describe('scripts/sockmap-loopback.mjs command line', () => {
  it("runs the seed's iperf3 (-p 10000 -t 10 -l 64K) on both listeners by default, as the scenario does", () => {
    expect(loopback()).toEqual({ seconds: 10, length: '64K', listeners: ['ipv4', 'dual-stack'], port: 10000, json: false });
    expect(loopback('--listener', 'dual-stack', '--seconds', '2', '--port', '5201')).toMatchObject({ seconds: 2, listeners: ['dual-stack'], port: 5201 });
  });

  it('refuses an unknown listener and a privileged port', () => {
    expect(refusal(() => loopback('--listener', 'ipv6'))).toBe('--listener takes one of ipv4, dual-stack, both, not "ipv6"');
    expect(refusal(() => loopback('--port', '80'))).toBe('--port takes a whole number from 1024 to 65535, not "80"');
  });
});

describe('--help', () => {
  it('lists every option of the spec, and -h', () => {
    for (const spec of [IPERF3_SPEC, TRACE_SPEC, LOOPBACK_SPEC]) {
      const text = helpText(spec);
      expect(text).toMatch(new RegExp(`^usage: sudo ${spec.command.replace('.', '\\.')} \\[options\\]`));
      for (const option of spec.options) expect(text).toContain(`--${option.name}`);
      expect(text).toContain('--help');
      expect(text).toContain('exit codes: 0');
    }
    const rejected: string[] = [];
    expect(minimist(['-h'], minimistSettings(TRACE_SPEC, rejected)).help).toBe(true);
    expect(rejected).toEqual([]);
  });
});
