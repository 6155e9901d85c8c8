// Which Istio rules each backend says it installs, and `lab verify --istio-version`: the descriptor
// of another version, and the refusals (exit 2) for versions or backends that have no such rules.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allBackends, backendByName } from '../../lab/backends/index.ts';
import { main } from '../../lab/cli/main.ts';
import { verifyDescriptor } from '../../lab/cli/verify.ts';
import { UsageError } from '../../lab/errors.ts';

const ISTIO_1_30 = 'Istio 1.30 (rules of 1.30.3, 56df41f)';
const ISTIO_1_24 = 'Istio 1.24 (rules of 1.24.6, 734e100)';
const NATIVE_NFTABLES = 'Istio 1.28 to 1.30 native nftables (rules of 1.30.3, 56df41f)';

describe('the Istio rules a backend installs', () => {
  it('is named by every backend with Istio rules, and by none without', () => {
    expect(Object.fromEntries(allBackends().map((b) => [b.name, b.istio]))).toEqual({
      none: undefined,
      redirect: ISTIO_1_30,
      tproxy: ISTIO_1_30,
      'redirect-nft': NATIVE_NFTABLES,
      'tproxy-nft': NATIVE_NFTABLES,
      sockmap: undefined,
      tc: undefined,
      ambient: ISTIO_1_30,
    });
  });

  it('is 1.24.6 for --istio-version 1.24, and the 1.30 line for 1.25 to 1.30', () => {
    expect(verifyDescriptor('redirect', '1.24').istio).toBe(ISTIO_1_24);
    expect(verifyDescriptor('tproxy', '1.24.3').istio).toBe(ISTIO_1_24);
    expect(verifyDescriptor('redirect', '1.27').istio).toBe(ISTIO_1_30);
    expect(verifyDescriptor('redirect-nft', '1.29').istio).toBe(NATIVE_NFTABLES);
    expect(verifyDescriptor('redirect', '1.24').name).toBe('redirect');
    expect(verifyDescriptor('redirect')).toBe(backendByName('redirect'));
  });
});

describe('lab verify --istio-version refusals', () => {
  const refusal = (backend: string, version: string) => {
    try {
      verifyDescriptor(backend, version);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error(`${backend} accepted --istio-version ${version}`);
  };

  it('refuses backends without Istio rules, and ambient, saying which backends take it', () => {
    for (const backend of ['none', 'sockmap', 'tc']) expect(refusal(backend, '1.24')).toBe(`--istio-version: backend ${backend} installs no Istio rules; leave --istio-version out (it applies to redirect, tproxy, redirect-nft, tproxy-nft)`);
    expect(refusal('ambient', '1.24')).toContain(`backend ambient has one set of rules, ${ISTIO_1_30}`);
  });

  it('refuses the nftables flavours below 1.28, naming the iptables flavour instead', () => {
    expect(refusal('redirect-nft', '1.24')).toBe(
      '--istio-version 1.24 with backend redirect-nft: Istio 1.24 has no native nftables mode (it arrived in 1.27); the nftables flavours reproduce Istio 1.28 to 1.30 only. Use the iptables flavour (redirect or tproxy) for Istio 1.24',
    );
    expect(refusal('tproxy-nft', '1.27')).toContain("Istio 1.27's native nftables rules have no per-rule counters (added in 1.28)");
  });

  it('refuses versions the lab has no rules for', () => {
    expect(refusal('redirect', '1.31')).toContain('the lab reproduces Istio 1.24 and 1.25 to 1.30');
  });

  describe('through the command', () => {
    afterEach(() => vi.restoreAllMocks());

    it('exits 2 with the reason for a version outside 1.24 to 1.30, before any work', async () => {
      let stderr = '';
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
      expect(await main(['verify', '--backend', 'redirect', '--istio-version', '1.23'])).toBe(2);
      expect(stderr).toContain(`argument '1.23' is invalid. istioVersion "1.23": the lab reproduces Istio 1.24 and 1.25 to 1.30`);
    });
  });
});
