// Header fields read from the text of a SIP message, for tests that check
// what went over the wire (a program's trace, sipwire's own).

/** Every value of a header field, in order (header section only, full names as written). */
export function fields(message: string, name: string): string[] {
  const head = message.split(/\r?\n\r?\n/)[0] ?? '';
  const out: string[] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase())
      out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/** The first value of a header field. */
export function field(message: string, name: string): string | undefined {
  return fields(message, name)[0];
}
