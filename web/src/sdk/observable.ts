// sdk/observable.ts: the smallest observable value and event emitter, so the SDK has no UI
// framework dependency. The web app bridges these to Preact signals; integrators can use them
// directly. Listeners run synchronously on the caller's thread (the browser's main thread).

export class Observable<T> {
  private listeners = new Set<(v: T) => void>();
  constructor(private current: T) {}
  get value(): T { return this.current; }
  set(v: T): void {
    if (Object.is(v, this.current)) return;
    this.current = v;
    for (const l of [...this.listeners]) l(v);
  }
  subscribe(l: (v: T) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private listeners = new Map<keyof Events, Set<Events[keyof Events]>>();
  on<K extends keyof Events>(name: K, l: Events[K]): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(l);
    return () => set!.delete(l);
  }
  protected emit<K extends keyof Events>(name: K, ...args: Parameters<Events[K]>): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const l of [...set]) (l as (...a: Parameters<Events[K]>) => void)(...args);
  }
}
