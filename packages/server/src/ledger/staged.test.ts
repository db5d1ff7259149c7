import { describe, expect, it } from "vitest";
import { StagedGroup, StagedMap } from "./staged.js";

describe("StagedMap", () => {
  it("reads through layers, merges a command into its batch and the batch into committed", () => {
    const m = new StagedMap<string, number>();
    m.load("a", 1);
    m.begin(); // batch
    m.begin(); // command 1
    m.set("a", 2);
    m.set("b", 3);
    expect(m.get("a")).toBe(2);
    m.merge();
    m.begin(); // command 2 fails
    m.set("a", 99);
    m.delete("b");
    expect(m.get("b")).toBeUndefined();
    m.drop();
    expect(m.get("a")).toBe(2);
    expect(m.get("b")).toBe(3);
    expect(m.hasCommitted("b")).toBe(false);
    m.merge();
    expect(m.depth).toBe(0);
    expect(m.hasCommitted("b")).toBe(true);
    expect(m.get("a")).toBe(2);
  });

  it("drops a whole batch that failed to commit", () => {
    const m = new StagedMap<string, number>();
    m.load("a", 1);
    m.begin();
    m.begin();
    m.set("a", 5);
    m.delete("a");
    m.merge();
    expect(m.get("a")).toBeUndefined();
    m.drop();
    expect(m.get("a")).toBe(1);
  });

  it("deletes through to the committed state on merge", () => {
    const m = new StagedMap<string, number>();
    m.load("a", 1);
    m.begin();
    m.delete("a");
    m.merge();
    expect(m.hasCommitted("a")).toBe(false);
    expect(() => m.merge()).toThrow();
    expect(() => m.drop()).toThrow();
  });

  it("moves every member of a group together", () => {
    const g = new StagedGroup();
    const a = g.add(new StagedMap<string, number>());
    const b = g.add(new StagedMap<string, number>());
    g.begin();
    a.set("x", 1);
    b.set("y", 2);
    g.drop();
    expect(a.get("x")).toBeUndefined();
    g.begin();
    a.set("x", 1);
    b.set("y", 2);
    g.merge();
    expect(a.hasCommitted("x") && b.hasCommitted("y")).toBe(true);
  });

  it("commits the oldest layer while a newer one stays staged on top of it", () => {
    const m = new StagedMap<string, number>();
    m.load("x", 0);
    m.begin(); // batch N, being written
    m.set("x", 1);
    m.delete("gone");
    m.begin(); // batch N+1, sequenced on top
    m.set("x", 2);
    m.set("y", 3);
    expect(m.getCommitted("x")).toBe(0);
    m.commitOldest(); // N committed
    expect(m.getCommitted("x")).toBe(1);
    expect(m.get("x")).toBe(2);
    expect(m.getCommitted("y")).toBeUndefined();
    expect(m.depth).toBe(1);
    m.drop(); // N+1 undone
    expect(m.get("x")).toBe(1);
    expect(m.get("y")).toBeUndefined();
    m.begin();
    m.set("x", 9);
    m.reset();
    expect(m.depth).toBe(0);
    expect(m.get("x")).toBe(1);
  });
});
