// Field conventions shared by the lab's BPF programs, in the shapes bpftool's BTF view uses.
// Addresses are kept in network order inside __u32 fields (programs compare them with packet
// headers as they are), and bpftool prints a __u32 as the number its bytes make on this
// little-endian host: 198.18.1.10 is bytes c6 12 01 0a, printed as 0x0a0112c6.

/** The __u32 field value holding an IPv4 address in network order. The one IPv4 encoder of the lab. */
export function ipv4Field(address: string): number {
  const octets = address.split('.').map((o) => (/^\d{1,3}$/.test(o) ? Number(o) : NaN));
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new Error(`not an IPv4 address: ${address}`);
  return octets.reduce((sum, octet, i) => sum + octet * 2 ** (8 * i), 0);
}

/** The IPv4 address a network-order __u32 field holds. */
export function ipv4OfField(field: number): string {
  if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) throw new Error(`not a u32 address field: ${field}`);
  return [0, 1, 2, 3].map((i) => Math.floor(field / 2 ** (8 * i)) % 256).join('.');
}

/** A MAC address as the u8[6] array bpftool prints. */
export function macField(mac: string): number[] {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${mac}`);
  return parts.map((p) => parseInt(p, 16));
}

export function macOfField(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
