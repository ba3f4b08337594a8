// The zip container under .npz and torch.save files: a central-directory reader (stored and deflate entries,
// zip64 records as PyTorch always writes them) and a writer for stored entries.
// https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
import { constants, inflateRawSync } from 'node:zlib';
import { type ByteSource, corrupt } from './byte-source.ts';

/** One member of a zip archive; `read()` extracts (and CRC-checks) its bytes. */
export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  read(): Uint8Array;
  /**
   * The member's first `n` bytes (fewer if it is shorter), inflating no further than they need: a format's header
   * can be checked against the declared size before the whole member is inflated. Not CRC-checked.
   */
  readHead(n: number): Uint8Array;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest date zip can store
/** Deflate's best compression is about 1032:1 (258-byte matches in 2 bits); a larger declared size is a lie. */
const MAX_DEFLATE_RATIO = 1032;
/** Room for deflate's block headers when tiny members are compared against the ratio. */
const DEFLATE_SLACK = 64;
/** Compressed bytes beyond the wanted length that readHead inflates: room for deflate's block headers. */
const HEAD_SLACK = 1024;
/** Size of a local file header before its name and extra field. */
const LOCAL_HEADER = 30;

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), as zip stores it; pass the previous result as `crc` to continue over several chunks. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = (crc ^ U32_MAX) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ U32_MAX) >>> 0;
}

const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Quick check for the local-file-header magic that starts every zip archive. */
export function looksLikeZip(src: ByteSource): boolean {
  return src.size >= 4 && view(src.read(0, 4)).readUInt32LE(0) === SIG_LOCAL;
}

/** Finds the central directory: (count, size, offset), from the zip64 record when the classic one overflows. */
function centralDirectory(src: ByteSource): { count: number; offset: number; size: number } {
  const tailLen = Math.min(src.size, 22 + 0xffff); // EOCD (22 bytes) + the longest comment
  const tailStart = src.size - tailLen;
  const tail = view(src.read(tailStart, tailLen));
  let at = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw corrupt(src, 'no zip end-of-central-directory record; the file is truncated or not a zip archive');
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (at >= 20 && tail.readUInt32LE(at - 20) === SIG_LOCATOR64) {
    const rec = view(src.read(Number(tail.readBigUInt64LE(at - 20 + 8)), 56));
    if (rec.readUInt32LE(0) !== SIG_EOCD64) throw corrupt(src, 'bad zip64 end-of-central-directory record');
    count = Number(rec.readBigUInt64LE(32));
    size = Number(rec.readBigUInt64LE(40));
    offset = Number(rec.readBigUInt64LE(48));
  }
  return { count, offset, size };
}

/** Lists a zip archive's members (central directory order). Corrupt or truncated archives give a UserError. */
export function readZip(src: ByteSource): ZipEntry[] {
  const cd = centralDirectory(src);
  const dir = view(src.read(cd.offset, cd.size));
  const entries: ZipEntry[] = [];
  const spans: { name: string; start: number; end: number }[] = [];
  let p = 0;
  for (let i = 0; i < cd.count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt(src, `zip central directory entry ${i} is damaged`);
    const method = dir.readUInt16LE(p + 10);
    const crc = dir.readUInt32LE(p + 16);
    let csize = dir.readUInt32LE(p + 20);
    let usize = dir.readUInt32LE(p + 24);
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    let local = dir.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > dir.length) throw corrupt(src, `zip central directory entry ${i} is damaged`);
    const name = dir.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: the 8-byte values for whichever 32-bit fields overflowed, in this order
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = dir.readUInt16LE(e);
      const len = dir.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + len) throw corrupt(src, `zip member ${name} has a zip64 extra field too short for its sizes`);
          return Number(dir.readBigUInt64LE((q += 8) - 8));
        };
        if (usize === U32_MAX) usize = next();
        if (csize === U32_MAX) csize = next();
        if (local === U32_MAX) local = next();
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (method !== 0 && method !== 8) {
      throw corrupt(src, `zip member ${name} uses compression method ${method} (only stored and deflate are supported)`);
    }
    // sizes are checked before anything is inflated: the output never exceeds what the compressed bytes can hold
    if (method === 0 && usize !== csize) throw corrupt(src, `zip member ${name} is stored with ${csize} bytes but declares ${usize}`);
    if (usize > csize * MAX_DEFLATE_RATIO + DEFLATE_SLACK) {
      throw corrupt(src, `zip member ${name} declares ${usize} bytes from ${csize} compressed, more than deflate can produce`);
    }
    spans.push({ name, start: local, end: local + LOCAL_HEADER + csize });
    const dataStart = () => {
      const hdr = view(src.read(local, LOCAL_HEADER));
      if (hdr.readUInt32LE(0) !== SIG_LOCAL) throw corrupt(src, `zip member ${name} has no local header`);
      return local + LOCAL_HEADER + hdr.readUInt16LE(26) + hdr.readUInt16LE(28); // PyTorch pads data via the extra field
    };
    entries.push({
      name,
      size: usize,
      readHead(n) {
        const want = Math.min(n, usize);
        if (method === 0) return src.read(dataStart(), want);
        // A prefix of the compressed bytes, inflated as far as it goes (sync flush: no error at its cut end). A literal
        // costs at most 15 bits, so twice `want` plus room for block headers holds `want` bytes of any real encoder's
        // output (a hostile stream that holds fewer gives a short head, which its format check refuses), and the
        // prefix cannot inflate past MAX_DEFLATE_RATIO times its length.
        const raw = src.read(dataStart(), Math.min(csize, 2 * want + HEAD_SLACK));
        try {
          return inflateRawSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, want);
        } catch {
          throw corrupt(src, `zip member ${name} does not inflate`);
        }
      },
      read() {
        const raw = src.read(dataStart(), csize);
        let data: Uint8Array;
        try {
          // one byte past the declared size is enough to know the member lies
          data = method === 0 ? raw : inflateRawSync(raw, { maxOutputLength: usize + 1 });
        } catch (e) {
          const over = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
          throw corrupt(src, over ? `zip member ${name} inflates to more than its declared ${usize} bytes` : `zip member ${name} does not inflate`);
        }
        if (data.length !== usize || crc32(data) !== crc) throw corrupt(src, `zip member ${name} fails its size/CRC check`);
        return data;
      },
    });
  }
  // members may not share bytes: N central entries over one member's data would inflate it N times
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.start < spans[i - 1]!.end) throw corrupt(src, `zip members ${spans[i - 1]!.name} and ${spans[i]!.name} overlap`);
  }
  return entries;
}

/** Builds a zip archive of stored (uncompressed) members, as numpy's `savez` does. Returns the output chunks. */
export function encodeZip(members: readonly { name: string; chunks: readonly Uint8Array[] }[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  if (members.length > 0xffff) throw new Error('zip writer supports up to 65535 members (no zip64)');
  for (const m of members) {
    const size = m.chunks.reduce((a, c) => a + c.length, 0);
    const name = Buffer.from(m.name, 'utf8');
    if (offset + size > U32_MAX) throw new Error('zip writer supports archives up to 4 GiB (no zip64)');
    const crc = m.chunks.reduce((c, b) => crc32(b, c), 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(SIG_CENTRAL, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(DOS_DATE, 14);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(size, 20);
    cen.writeUInt32LE(size, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    central.push(cen, name);
    out.push(local, name, ...m.chunks);
    offset += 30 + name.length + size;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_EOCD, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return [...out, ...central, end];
}
