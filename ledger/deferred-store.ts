/**
 * A ledger store that is opened on first use and again after each failed attempt. The worker
 * uses it when the ledger database is down at start-up: polling starts at once (usage keeps
 * being answered, rules load), and the ledger activities fail as retryable until the database
 * is back, exactly as they do when it goes away later.
 */
import type { LedgerStore } from './store';

/** A {@link LedgerStore} over `open`, which is called until it succeeds, never twice at once. */
export function deferredLedgerStore(open: () => Promise<LedgerStore>): LedgerStore {
  let opening: Promise<LedgerStore> | undefined;
  let closed = false;
  const ready = (): Promise<LedgerStore> => {
    opening ??= open().catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  // Every method but the two below just waits for the store and forwards the call.
  const forward = new Proxy({} as LedgerStore, {
    get(_target, name: string | symbol) {
      // Not a thenable (so `await` hands the store over as it is), and no symbol look-ups.
      if (name === 'then' || typeof name !== 'string') return undefined;
      const method = name as keyof LedgerStore;
      return async (...args: unknown[]) => {
        const store = await ready();
        return (store[method] as (...a: unknown[]) => unknown).apply(store, args);
      };
    },
  });
  return Object.assign(Object.create(forward) as LedgerStore, {
    streamEntries(...args: Parameters<LedgerStore['streamEntries']>) {
      return (async function* () {
        yield* (await ready()).streamEntries(...args);
      })();
    },
    async close() {
      if (closed) return;
      closed = true;
      const pending = opening;
      opening = undefined;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  });
}
