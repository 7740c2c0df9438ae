import { describe, expect, it } from "vitest";
import { Budget } from "../../../src/engine/backup/limiter.ts";

const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe("Budget", () => {
  it("admits holders while their units fit, the rest wait in order until units come back", async () => {
    const b = new Budget(100);
    const first = await b.acquire(60);
    const second = await b.acquire(40);
    const order: string[] = [];
    const third = b.acquire(30).then((r) => {
      order.push("third");
      return r;
    });
    const fourth = b.acquire(10).then((r) => {
      order.push("fourth");
      return r;
    });
    await turns();
    // The fourth would fit nowhere either, and must not overtake the third anyway.
    expect(order).toEqual([]);
    expect(b.held).toBe(100);
    first();
    await turns();
    expect(order).toEqual(["third", "fourth"]);
    expect(b.held).toBe(80);
    second();
    (await third)();
    (await fourth)();
    expect(b.held).toBe(0);
  });

  it("lets one holder larger than the whole budget through alone", async () => {
    const b = new Budget(100);
    const small = await b.acquire(10);
    let big: (() => void) | null = null;
    void b.acquire(500).then((r) => {
      big = r;
    });
    await turns();
    expect(big).toBeNull();
    small();
    await turns();
    expect(big).not.toBeNull();
    expect(b.held).toBe(500);
    let after = false;
    void b.acquire(1).then(() => {
      after = true;
    });
    await turns();
    expect(after).toBe(false);
    big!();
    await turns();
    expect(after).toBe(true);
  });

  it("gives units back once however often release is called", async () => {
    const b = new Budget(10);
    const r = await b.acquire(4);
    const other = await b.acquire(6);
    r();
    r();
    expect(b.held).toBe(6);
    other();
    expect(b.held).toBe(0);
  });
});
