// Builds zip archives whose headers may lie, for tests of hostile input: deflated members, declared sizes and
// CRCs that differ from the data, raw extra fields, and central entries that point at another member's data.
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/weights/zip.ts';

export interface RawMember {
  readonly name: string;
  readonly data: Uint8Array;
  readonly deflate?: boolean;
  /** The member's deflated bytes, used as they are (a stream too large to build by deflating `data`); declare `size` and `crc`. */
  readonly deflated?: Uint8Array;
  /** Declared uncompressed size (default: the data's). */
  readonly size?: number;
  /** Declared CRC (default: the data's). */
  readonly crc?: number;
  /** The central entry's extra field, as is. */
  readonly extra?: Uint8Array;
  /** The central entry points at this member's local header instead of its own (overlapping members). */
  readonly sameAs?: number;
  /** Written into the central entry's 32-bit compressed size, uncompressed size and offset fields (e.g. 0xffffffff). */
  readonly fields32?: { csize?: number; usize?: number; offset?: number };
}

/** The archive bytes: local headers and data, then the central directory and the end record. */
export function buildZip(members: readonly RawMember[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  const csizes: number[] = [];
  let offset = 0;
  members.forEach((m, i) => {
    const name = Buffer.from(m.name);
    const body = m.deflated ? Buffer.from(m.deflated) : m.deflate ? deflateRawSync(m.data) : Buffer.from(m.data);
    const crc = m.crc ?? crc32(m.data);
    const size = m.size ?? m.data.length;
    const at = m.sameAs === undefined ? offset : offsets[m.sameAs]!;
    const csize = m.sameAs === undefined ? body.length : csizes[m.sameAs]!;
    offsets.push(at);
    csizes.push(csize);
    if (m.sameAs === undefined) {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(m.deflate || m.deflated ? 8 : 0, 8);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(size >>> 0, 22);
      local.writeUInt16LE(name.length, 26);
      parts.push(local, name, body);
      offset += 30 + name.length + body.length;
    }
    const extra = Buffer.from(m.extra ?? new Uint8Array());
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    const source = members[m.sameAs ?? i];
    cen.writeUInt16LE(m.deflate || m.deflated || source?.deflate || source?.deflated ? 8 : 0, 10);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(m.fields32?.csize ?? csize, 20);
    cen.writeUInt32LE(m.fields32?.usize ?? size >>> 0, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt16LE(extra.length, 30);
    cen.writeUInt32LE(m.fields32?.offset ?? at, 42);
    central.push(cen, name, extra);
  });
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
