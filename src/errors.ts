/**
 * An error caused by the user's input (a file, a flag, a dataset) rather than by a bug in vitkit.
 * The CLI prints its message as one line and exits non-zero without a stack trace (unless --verbose),
 * so the message must name the bad thing and say what to do.
 */
export class UserError extends Error {
  override name = 'UserError';

  constructor(message: string) {
    // messages quote names and header text from untrusted files: control characters would break the one line
    super(message.replace(/[\u0000-\u001f\u007f]+/g, ' '));
  }
}

/**
 * A short description of an untrusted value (from a file's header or pickle) for a UserError message: strings
 * quoted and cut, numbers as they are, anything else by kind. Never String(v): a 100k-deep nested array from a
 * hostile file would overflow the stack, and a long one would flood the one-line message.
 */
export function shown(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 60)}…` : v}'`;
  // a decimal string of a huge bigint takes quadratic time; hex is linear
  if (typeof v === 'bigint' && (v > 2n ** 64n || v < -(2n ** 64n))) return `an integer of about ${v.toString(16).length * 4} bits`;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return v instanceof Map ? 'a dict' : `an ${typeof v}`;
}
