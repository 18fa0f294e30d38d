/** A map that forgets its oldest entries past `max`; an entry is taken once. */
export class BoundedMap<K, V> {
  private readonly items = new Map<K, V>();

  constructor(private readonly max: number) {}

  set(key: K, value: V): void {
    if (this.items.size >= this.max) this.items.delete(this.items.keys().next().value!);
    this.items.set(key, value);
  }

  take(key: K): V | undefined {
    if (this.items.size === 0) return undefined;
    const value = this.items.get(key);
    this.items.delete(key);
    return value;
  }
}
