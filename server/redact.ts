/** A connection URL fit for logs: the password removed, or `fallback` when it does not parse. */
export function redactUrl(url: string, fallback: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return fallback;
  }
}
