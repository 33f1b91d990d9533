/**
 * One value per owner object, made on first use and dropped with the owner: the per-store coalescers and
 * maintenance cache, the per-key-ring verified-token cache. `make` receives the owner and the arguments of
 * the first call.
 */
export function perOwner<K extends object, V, A extends unknown[] = []>(
  make: (owner: K, ...args: A) => V,
): (owner: K, ...args: A) => V {
  const byOwner = new WeakMap<K, V>();
  return (owner, ...args) => {
    let value = byOwner.get(owner);
    if (value === undefined) {
      value = make(owner, ...args);
      byOwner.set(owner, value);
    }
    return value;
  };
}
