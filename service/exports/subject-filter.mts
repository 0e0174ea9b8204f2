// A per-blob subject filter: which identifiers an export blob may hold, as a Bloom filter over keyed
// hashes. No false negatives (an erasure never skips a blob that holds its subject); about one
// false positive in a thousand (an erasure then reads a blob and finds nothing to remove). The key
// is the service's: the filter alone does not tell whether a guessed email is in a blob.
// Erasable-only TypeScript with no imports but Node's: the device export's page reader thread
// builds filters too, and Node runs that thread's modules as they are.
import { hash } from "node:crypto";

/** Wanted false-positive rate: k = 10 hashes, about 14.4 bits an identifier. */
const FALSE_POSITIVE_RATE = 0.001;
const HASHES = Math.round(-Math.log2(FALSE_POSITIVE_RATE));
const FORMAT_VERSION = 1;
/** version (1 byte), hashes (1 byte), bits (4 bytes, little-endian), then the bits. */
const HEADER_BYTES = 6;

interface Identifier {
  readonly type: string;
  readonly value: string;
}

/** Two 32-bit hashes of one identifier under the key (double hashing derives the rest). */
function hashPair(key: string, identifier: Identifier): [number, number] {
  const digest = hash("sha256", `${key}\n${identifier.type}\n${identifier.value}`, "buffer");
  // An odd step: the k positions of one identifier never all fall on one bit.
  return [digest.readUInt32LE(0), (digest.readUInt32LE(4) | 1) >>> 0];
}

/** Collects identifiers while an export writes; `build` sizes the filter for what was seen. */
export class SubjectFilterBuilder {
  private pairs = new Uint32Array(2048);
  private count = 0;
  private readonly key: string;

  constructor(key: string) {
    this.key = key;
  }

  add(identifiers: readonly Identifier[]): void {
    for (const identifier of identifiers) {
      if (this.pairs.length < 2 * (this.count + 1)) {
        const grown = new Uint32Array(this.pairs.length * 2);
        grown.set(this.pairs);
        this.pairs = grown;
      }
      const [first, second] = hashPair(this.key, identifier);
      this.pairs[2 * this.count] = first;
      this.pairs[2 * this.count + 1] = second;
      this.count++;
    }
  }

  get identifiers(): number {
    return this.count;
  }

  build(): Uint8Array {
    const bits = this.count === 0 ? 0 : Math.ceil((-this.count * Math.log(FALSE_POSITIVE_RATE)) / Math.LN2 ** 2);
    const filter = new Uint8Array(HEADER_BYTES + Math.ceil(bits / 8));
    const view = new DataView(filter.buffer);
    view.setUint8(0, FORMAT_VERSION);
    view.setUint8(1, HASHES);
    view.setUint32(2, bits, true);
    for (let i = 0; i < this.count; i++) {
      for (const bit of positions(this.pairs[2 * i]!, this.pairs[2 * i + 1]!, HASHES, bits)) filter[HEADER_BYTES + (bit >>> 3)]! |= 1 << (bit & 7);
    }
    return filter;
  }
}

function* positions(first: number, second: number, hashes: number, bits: number): Generator<number> {
  for (let i = 0; i < hashes; i++) yield (first + i * second) % bits;
}

/** Whether a blob with this filter may hold any of the identifiers (a missing filter: it may hold anyone). */
export function mayHold(filter: Uint8Array | null, key: string, identifiers: readonly Identifier[]): boolean {
  if (filter === null) return true;
  const view = new DataView(filter.buffer, filter.byteOffset, filter.byteLength);
  if (view.getUint8(0) !== FORMAT_VERSION) return true;
  const hashes = view.getUint8(1);
  const bits = view.getUint32(2, true);
  if (bits === 0) return false;
  return identifiers.some((identifier) => {
    const [first, second] = hashPair(key, identifier);
    for (const bit of positions(first, second, hashes, bits)) if ((filter[HEADER_BYTES + (bit >>> 3)]! & (1 << (bit & 7))) === 0) return false;
    return true;
  });
}
