import assert from "node:assert/strict";
import { test } from "node:test";

import { backoff, clockOffset, expiresSoon, refreshAt, refreshDelay, refreshDue, tokenLifetime } from "../assets/timing.js";
import { stored } from "../testdata/session.js";

const T0 = 1_700_000_000_000;

test("tokenLifetime reads exp - iat from the token, not the clocks", () => {
  // A local clock 10 minutes ahead does not change the lifetime.
  assert.equal(tokenLifetime(stored(T0 + 600e3, 3600, T0 / 1000)), 3600e3);
  assert.equal(tokenLifetime(stored(T0, 4)), 4000);
});

test("tokenLifetime falls back to expires_at when the token is no JWT", () => {
  const t = { ...stored(T0, 100), token: "opaque" };
  assert.equal(tokenLifetime(t), 100e3);
});

test("refreshAt is 60 s before expiry, or at 60 % of short lives", () => {
  const cases = [
    { name: "1 h", ttl: 3600, want: T0 + 3540e3 },
    { name: "150 s: both rules agree", ttl: 150, want: T0 + 90e3 },
    { name: "4 s", ttl: 4, want: T0 + 2400 },
  ];
  for (const c of cases) assert.equal(refreshAt(stored(T0, c.ttl)), c.want, c.name);
});

test("refreshDue has 10 % of the life to spare, and no tokens are due", () => {
  const t = stored(T0, 3600); // refreshAt T0+3540 s; due from 3540 - 360 = 3180 s
  assert.equal(refreshDue(t, T0 + 3179e3), false);
  assert.equal(refreshDue(t, T0 + 3180e3), true);
  assert.equal(refreshDue(null, T0), true);
});

test("refreshDelay subtracts at most 1 s (or 5 % of a short life) of jitter", () => {
  const t = stored(T0, 3600);
  assert.equal(refreshDelay(t, T0, () => 0), 3540e3);
  assert.equal(refreshDelay(t, T0, () => 0.5), 3540e3 - 500);
  const short = stored(T0, 4); // refreshAt +2400, jitter up to 200
  assert.equal(refreshDelay(short, T0, () => 0.5), 2300);
  assert.equal(refreshDelay(short, T0 + 10e3, () => 0), 0, "overdue: at once");
});

test("expiresSoon is within a second of expiry", () => {
  const t = stored(T0, 60);
  assert.equal(expiresSoon(t, T0 + 58_999), false);
  assert.equal(expiresSoon(t, T0 + 59_001), true);
  assert.equal(expiresSoon(null, T0), true);
});

test("backoff doubles from min up to max, in the upper half of its cap", () => {
  const limits = { min: 500, max: 30000 };
  const caps = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
  caps.forEach((cap, i) => {
    assert.equal(backoff(i + 1, limits, () => 0), cap / 2, `attempt ${i + 1} lowest`);
    assert.equal(backoff(i + 1, limits, () => 0.999999), Math.round(cap / 2 + 0.999999 * (cap / 2)), `attempt ${i + 1} highest`);
  });
  assert.equal(backoff(Infinity, limits, () => 1), 30000, "the longest delay");
  assert.equal(backoff(0, limits, () => 0), 250, "attempt 0 counts as 1");
});

test("backoff spreads clients out", () => {
  const seen = new Set();
  for (let i = 0; i < 50; i++) seen.add(backoff(5, { min: 500, max: 30000 }));
  assert.ok(seen.size > 10, `50 delays took only ${seen.size} values`);
  for (const d of seen) assert.ok(d >= 4000 && d <= 8000, `${d} outside [4000, 8000]`);
});

test("clockOffset: the local clock against the token's iat, ignoring small offsets", () => {
  assert.equal(clockOffset(stored(T0 + 900, 60, T0 / 1000)), 0, "rounding and latency");
  assert.equal(clockOffset(stored(T0 + 30e3, 60, T0 / 1000)), 30e3, "local clock ahead");
  assert.equal(clockOffset(stored(T0 - 5e3, 60, T0 / 1000)), -5e3, "local clock behind");
  assert.equal(clockOffset(null), 0);
});
