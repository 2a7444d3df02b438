/**
 * Reading and writing the carried state's maps (open calls by call id, usage by feature id)
 * by their own keys only. The state is plain JSON, so after a continue-as-new its maps are
 * ordinary objects again: `key in map` or `map[key]` would find `toString`, `constructor` or
 * `hasOwnProperty` on Object.prototype, and assigning `map['__proto__']` would replace the
 * map's prototype instead of storing an entry. Keys come from callers, so every look-up
 * goes through here.
 */

/** Whether `map` holds an entry of its own under `key`. */
export function hasOwnKey(map: object, key: string): boolean {
  return Object.hasOwn(map, key);
}

/** The entry stored under `key`, never a property inherited from Object.prototype. */
export function ownValue<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Store `value` under `key` as an ordinary entry, `__proto__` included. */
export function setOwn<T>(map: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
}
