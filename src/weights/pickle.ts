// A minimal, safe unpickler for the subset of Python's pickle protocol (0x80 PROTO 2–5 binary opcodes) that
// torch.save uses for state dicts. Nothing is ever imported or executed: a GLOBAL is just a name, and REDUCE calls
// only the JavaScript functions the caller registers; any other call yields an inert Opaque placeholder.
// Opcode reference: CPython's Lib/pickletools.py.

/** A Python object vitkit does not model (e.g. argparse.Namespace): kept by name, never constructed. */
export interface Opaque {
  readonly opaque: string;
}

/** A module-level name (`module.qualname`) pushed by GLOBAL / STACK_GLOBAL. */
interface PyGlobal {
  readonly global: string;
}

/** Malformed or unsupported pickle data (callers turn it into a UserError naming the file). */
export class UnpickleError extends Error {}

export interface UnpickleOptions {
  /** REDUCE targets allowed, keyed by `module.qualname`; called with the argument tuple. */
  readonly callables: Readonly<Record<string, (args: unknown[]) => unknown>>;
  /** Resolves BINPERSID references (torch uses them for tensor storages). */
  readonly persistentLoad: (pid: unknown) => unknown;
}

const isGlobal = (v: unknown): v is PyGlobal => typeof v === 'object' && v !== null && 'global' in v;

/** Decodes one pickle; dicts become Maps, tuples and lists arrays, large ints bigints. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const need = (n: number) => {
    if (pos + n > buf.length) throw new UnpickleError(`pickle data ends early (at byte ${pos}, needs ${n} more)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => buf[need(1)]!;
  const u32 = () => buf.readUInt32LE(need(4));
  const u64 = () => Number(buf.readBigUInt64LE(need(8)));
  const text = (n: number, enc: BufferEncoding) => buf.toString(enc, need(n), pos);
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw new UnpickleError('pickle data ends inside a GLOBAL name');
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw new UnpickleError('pickle stack underflow');
    return stack.pop();
  };
  const popMark = () => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw new UnpickleError('pickle MARK missing');
    stack = prev;
    return items;
  };
  // a function, not stack.push: `stack` must be read after the argument (which may pop a MARK) is evaluated
  const push = (v: unknown) => {
    stack.push(v);
  };
  const top = () => stack[stack.length - 1];
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof Map)) throw new UnpickleError('pickle SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l)) throw new UnpickleError('pickle APPEND(S) on a non-list');
    for (const x of items) l.push(x); // not push(...items): spreading 100k+ arguments overflows the stack
  };
  const long = (n: number) => {
    if (n === 0) return 0;
    const at = need(n);
    // one hex parse, linear in n (a shift-and-or per byte copies the growing bigint each time: quadratic)
    let v = BigInt(`0x${Buffer.from(buf.subarray(at, at + n)).reverse().toString('hex')}`);
    if (buf[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n); // two's complement
    return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  };
  const globalPart = (v: unknown) => {
    if (typeof v !== 'string') throw new UnpickleError('pickle STACK_GLOBAL names are not strings');
    return v;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    const name = isGlobal(fn) ? fn.global : 'a non-global callable';
    const impl = isGlobal(fn) ? opts.callables[fn.global] : undefined;
    if (!impl) return { opaque: name } satisfies Opaque;
    if (!Array.isArray(args)) throw new UnpickleError(`pickle REDUCE of ${name} without an argument tuple`);
    return impl(args);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME: a framing hint only
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(buf.readUInt16LE(need(2))); break; // BININT2
      case 0x4a: push(buf.readInt32LE(need(4))); break; // BININT
      case 0x8a: push(long(u8())); break; // LONG1
      case 0x8b: push(long(u32())); break; // LONG4
      case 0x47: push(buf.readDoubleBE(need(8))); break; // BINFLOAT
      case 0x58: push(text(u32(), 'utf8')); break; // BINUNICODE
      case 0x8c: push(text(u8(), 'utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64(), 'utf8')); break; // BINUNICODE8
      case 0x54: push(text(u32(), 'latin1')); break; // BINSTRING
      case 0x55: push(text(u8(), 'latin1')); break; // SHORT_BINSTRING
      case 0x42: { const n = u32(); push(buf.subarray(need(n), pos)); break; } // BINBYTES
      case 0x43: { const n = u8(); push(buf.subarray(need(n), pos)); break; } // SHORT_BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new UnpickleError(`pickle memo ${k} is missing`);
        push(memo.get(k));
        break;
      }
      case 0x74: push(popMark()); break; // TUPLE
      case 0x85: push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push([pop(), b, c]); break; } // TUPLE3
      case 0x6c: push(popMark()); break; // LIST
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x63: { const mod = line(); push({ global: `${mod}.${line()}` } satisfies PyGlobal); break; } // GLOBAL
      case 0x93: { const q = globalPart(pop()); push({ global: `${globalPart(pop())}.${q}` } satisfies PyGlobal); break; } // STACK_GLOBAL
      case 0x51: push(opts.persistentLoad(pop())); break; // BINPERSID
      case 0x52: { const args = pop(); push(call(pop(), args)); break; } // REDUCE
      case 0x81: { pop(); const cls = pop(); push({ opaque: isGlobal(cls) ? cls.global : '?' } satisfies Opaque); break; } // NEWOBJ
      case 0x62: pop(); break; // BUILD: object state (e.g. OrderedDict._metadata) is not needed
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      default:
        throw new UnpickleError(`pickle opcode 0x${op.toString(16)} at byte ${pos - 1} is not supported`);
    }
  }
}
