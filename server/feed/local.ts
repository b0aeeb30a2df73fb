/**
 * @module The feed of one process: subscribers are called synchronously, in subscription
 * order, as the room publishes. A subscriber that throws is reported and skipped; the room and
 * the other subscribers go on (the change is already durable).
 */
import type { Change, ChangeHandler, Feed } from './types.js';

export function localFeed(onError: (error: unknown, change: Change) => void = () => {}): Feed {
  const handlers = new Set<ChangeHandler>();
  return {
    publish(change) {
      for (const handler of handlers) {
        try {
          handler(change);
        } catch (error) {
          onError(error, change);
        }
      }
    },
    subscribe(handler) {
      // A wrapper per subscription: subscribing one function twice gives two subscriptions.
      const own: ChangeHandler = (change) => handler(change);
      handlers.add(own);
      return () => {
        handlers.delete(own);
      };
    },
  };
}
