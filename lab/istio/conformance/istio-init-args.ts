// Reads istio-init's arguments, as Istio's injector writes them into a pod (the `args:` list of the
// istio-init container), into the lab's capture configuration. The conformance tests use it to show
// that DEFAULT_CAPTURE is what an injected pod runs, with istio-iptables' own defaults for the flags
// the injector leaves out (-g = -u, -e 15008, -o none).
import { ISTIO_PORTS } from '../ports.ts';
import type { IstioCaptureConfig } from '../sidecar-config.ts';
import type { IstioLine } from '../version.ts';

/** The items of a YAML block list (`- "15001"`, `- '*'`, `- ""`, `- 15090,15021,15020`), unquoted. */
export function yamlListItems(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*- (.*)$/.exec(line)?.[1])
    .filter((item): item is string => item !== undefined && item !== 'args:')
    .map((item) => (/^(['"])(.*)\1$/.exec(item)?.[2] ?? item));
}

const ports = (list: string) => (list === '' ? [] : list.split(',').filter((p) => p !== '').map(Number));
const wildcardOrNone = (flag: string, value: string): '*' | '' => {
  if (value === '*' || value === '') return value;
  throw new Error(`${flag} ${value}: the lab reproduces only '*' or '' here`);
};

/**
 * `istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT ...` as the lab's configuration and mode.
 * Throws on a flag the lab does not reproduce, so a new injector argument cannot go unnoticed.
 */
export function parseIstioIptablesArgs(args: readonly string[], istioVersion: IstioLine): { mode: 'REDIRECT' | 'TPROXY'; config: IstioCaptureConfig } {
  const [command, ...rest] = args;
  if (command !== 'istio-iptables') throw new Error(`not an istio-iptables command: ${command}`);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (flag.startsWith('--log_output_level=')) continue;
    if (!/^-[a-z]$/.test(flag) || i + 1 >= rest.length) throw new Error(`istio-iptables argument ${flag} is not one the lab reproduces`);
    flags.set(flag, rest[++i]!);
  }
  const known = new Set(['-p', '-z', '-u', '-g', '-m', '-e', '-b', '-d', '-i', '-x', '-o']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new Error(`istio-iptables flag ${flag} is not one the lab reproduces`);
  const mode = flags.get('-m') ?? 'REDIRECT';
  if (mode !== 'REDIRECT' && mode !== 'TPROXY') throw new Error(`-m ${mode}`);
  const uid = Number(flags.get('-u') ?? ISTIO_PORTS.proxyUid);
  return {
    mode,
    config: {
      istioVersion,
      proxyUid: uid,
      proxyGid: Number(flags.get('-g') ?? uid),
      outboundCapturePort: Number(flags.get('-p') ?? ISTIO_PORTS.outboundCapture),
      inboundCapturePort: Number(flags.get('-z') ?? ISTIO_PORTS.inboundCapture),
      inboundTunnelPort: Number(flags.get('-e') ?? ISTIO_PORTS.hbone),
      inboundPortsInclude: wildcardOrNone('-b', flags.get('-b') ?? ''),
      excludedInboundPorts: ports(flags.get('-d') ?? ''),
      outboundIpRangesInclude: wildcardOrNone('-i', flags.get('-i') ?? ''),
      excludedOutboundCidrs: (flags.get('-x') ?? '').split(',').filter((c) => c !== ''),
      excludedOutboundPorts: ports(flags.get('-o') ?? ''),
    },
  };
}
