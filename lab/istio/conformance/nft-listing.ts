// The cosmetic differences between a rule as an `nft -f` script writes it (Istio's and the lab's
// scripts) and as the kernel's ruleset lists it back (`nft list ruleset`, or lab/evidence/nft.ts's
// rendering of `nft -j list ruleset`). Only rewrites that change no match or action:
//  1. `meta l4proto tcp` is dropped when the rule also matches a tcp port: nft lists the protocol
//     check only as the port match's implied dependency;
//  2. an IPv4 /32 prefix is printed as the bare address;
//  3. interface names are quoted (`oifname "lo"`);
//  4. the meta keys skuid, skgid and mark get their `meta` keyword (`skuid 1337` -> `meta skuid 1337`,
//     `mark 1337` -> `meta mark ...`, `ct mark set mark` -> `ct mark set meta mark`);
//  5. mark values are printed as 32-bit hex (`1337` -> `0x00000539`);
//  6. ct state flags are printed in nft's bit order (`related,established` -> `established,related`).
// The privileged conformance test proves these are the only differences: Istio's own goldens, applied
// in a lab pod, list back as exactly their script rules passed through this function.

const CT_STATE_ORDER = ['invalid', 'established', 'related', 'new', 'untracked'];
const hexMark = (value: string) => (/^\d+$/.test(value) ? `0x${Number(value).toString(16).padStart(8, '0')}` : value);

export function nftListingForm(rule: string): string {
  const tokens = rule.trim().split(/\s+/);
  if (/\btcp [ds]port\b/.test(rule)) {
    const at = tokens.findIndex((t, i) => t === 'meta' && tokens[i + 1] === 'l4proto' && tokens[i + 2] === 'tcp');
    if (at >= 0) tokens.splice(at, 3);
  }
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const previous = out.at(-1);
    if (/^\d+\.\d+\.\d+\.\d+\/32$/.test(token)) out.push(token.slice(0, -3));
    else if ((previous === 'oifname' || previous === 'iifname') && !token.startsWith('"')) out.push(`"${token}"`);
    else if ((token === 'skuid' || token === 'skgid') && previous !== 'meta') out.push('meta', token);
    else if (token === 'mark') {
      if (previous !== 'meta' && previous !== 'ct') out.push('meta');
      out.push(token);
      // The value follows directly, after `!=`, or after `set`.
      const next = tokens[i + 1];
      const skip = next === '!=' || next === 'set' ? 1 : 0;
      if (skip) out.push(next!);
      const value = tokens[i + 1 + skip];
      if (value !== undefined && /^\d+$/.test(value)) {
        out.push(hexMark(value));
        i += 1 + skip;
      } else {
        i += skip;
      }
    } else if (token === 'state' && previous === 'ct') {
      out.push(token, (tokens[i + 1] ?? '').split(',').sort((a, b) => CT_STATE_ORDER.indexOf(a) - CT_STATE_ORDER.indexOf(b)).join(','));
      i++;
    } else out.push(token);
  }
  return out.join(' ');
}
