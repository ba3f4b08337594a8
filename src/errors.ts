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
