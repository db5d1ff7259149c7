/**
 * Validation state as committed state plus staged layers (decision 1). The sequencer opens a
 * layer for a batch and one for each command inside it: a command that fails drops its own
 * layer, a batch that fails to commit drops the batch's, and a committed batch merges into the
 * committed state. While one batch is written the next is sequenced in a layer above it, so a
 * batch's layer joins the committed state from the bottom (`commitOldest`). Nothing is ever
 * reloaded wholesale.
 */
export interface Staged {
  /** Opens a layer; writes go to it until it is merged or dropped. */
  begin(): void;
  /** Folds the innermost layer into the one below (the committed state at the bottom). */
  merge(): void;
  /** Forgets the innermost layer's writes. */
  drop(): void;
  /**
   * Folds the outermost layer into the committed state, leaving the layers above it staged:
   * a batch has committed while the next one was sequenced on top of it.
   */
  commitOldest(): void;
  /** Forgets every staged layer (the sequencer stopped, or reloads its committed state). */
  reset(): void;
}

const DELETED = Symbol("deleted");

/** A map whose writes are staged in layers. */
export class StagedMap<K, V> implements Staged {
  private readonly committed = new Map<K, V>();
  /** Layers from the bottom; a layer nobody wrote to is null (most commands touch few maps). */
  private readonly layers: (Map<K, V | typeof DELETED> | null)[] = [];

  get(key: K): V | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const v = this.layers[i]?.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
    }
    return this.committed.get(key);
  }

  private top(): Map<K, V | typeof DELETED> | undefined {
    const n = this.layers.length;
    if (n === 0) return undefined;
    let t = this.layers[n - 1];
    if (!t) {
      t = new Map();
      this.layers[n - 1] = t;
    }
    return t;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    const top = this.top();
    if (top) top.set(key, value);
    else this.committed.set(key, value);
  }

  delete(key: K): void {
    const top = this.top();
    if (top) top.set(key, DELETED);
    else this.committed.delete(key);
  }

  /** The committed value, ignoring staged layers: what a reader outside the sequencer may see. */
  getCommitted(key: K): V | undefined {
    return this.committed.get(key);
  }

  /** Committed values only: for loading from the database, outside any layer. */
  load(key: K, value: V): void {
    this.committed.set(key, value);
  }

  /** Values known to the committed state: what a batch must look up before it is checked. */
  hasCommitted(key: K): boolean {
    return this.committed.has(key);
  }

  /** Removes committed entries that `stale` picks (pruning), outside any layer. */
  prune(stale: (value: V, key: K) => boolean): void {
    for (const [k, v] of this.committed) if (stale(v, k)) this.committed.delete(k);
  }

  /** Forgets the committed state (after a commit whose outcome is unknown), outside any layer. */
  clearCommitted(): void {
    this.committed.clear();
  }

  get committedSize(): number {
    return this.committed.size;
  }

  begin(): void {
    this.layers.push(null);
  }

  merge(): void {
    if (this.layers.length === 0) throw new Error("StagedMap.merge without begin");
    const top = this.layers.pop();
    if (!top) return;
    if (this.layers.length > 0) {
      const below = this.top() as Map<K, V | typeof DELETED>;
      if (below.size === 0) {
        this.layers[this.layers.length - 1] = top;
        return;
      }
      for (const [k, v] of top) below.set(k, v);
      return;
    }
    for (const [k, v] of top) {
      if (v === DELETED) this.committed.delete(k);
      else this.committed.set(k, v);
    }
  }

  drop(): void {
    if (this.layers.length === 0) throw new Error("StagedMap.drop without begin");
    this.layers.pop();
  }

  reset(): void {
    this.layers.length = 0;
  }

  commitOldest(): void {
    // No layer: they were reset (the sequencer stopped) while the batch was in the database.
    const oldest = this.layers.shift();
    if (!oldest) return;
    for (const [k, v] of oldest) {
      if (v === DELETED) this.committed.delete(k);
      else this.committed.set(k, v);
    }
  }

  get depth(): number {
    return this.layers.length;
  }
}

/** Several staged stores that open, merge and drop their layers together. */
export class StagedGroup implements Staged {
  private readonly members: Staged[] = [];
  add<T extends Staged>(member: T): T {
    this.members.push(member);
    return member;
  }
  begin(): void {
    for (const m of this.members) m.begin();
  }
  merge(): void {
    for (const m of this.members) m.merge();
  }
  drop(): void {
    for (const m of this.members) m.drop();
  }
  commitOldest(): void {
    for (const m of this.members) m.commitOldest();
  }
  reset(): void {
    for (const m of this.members) m.reset();
  }
}
