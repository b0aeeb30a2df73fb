/**
 * @module Open sockets per identity, capped: each socket holds buffers and a heartbeat, so one
 * token must not open thousands of them. The SDK opens one per open conversation (plus the inbox),
 * so the cap is set well above what an app keeps open.
 */
export class SocketQuota {
  private readonly open = new Map<string, number>();

  constructor(private readonly perIdentity: number) {}

  /** Counts a socket for `identity`, or returns false (counting nothing) when at the cap. */
  take(identity: string): boolean {
    const count = this.open.get(identity) ?? 0;
    if (count >= this.perIdentity) return false;
    this.open.set(identity, count + 1);
    return true;
  }

  release(identity: string): void {
    const count = (this.open.get(identity) ?? 0) - 1;
    if (count > 0) this.open.set(identity, count);
    else this.open.delete(identity);
  }

  /** Identities with at least one socket (tests: nothing is left after every socket closed). */
  get identities(): number {
    return this.open.size;
  }
}
