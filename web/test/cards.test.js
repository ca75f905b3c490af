import assert from "node:assert/strict";
import { test } from "node:test";

import { RANKS, SUITS, cardLabel, cardName, cardValue, isCard, isRed, rankPlural, sortCards } from "../assets/cards.js";

const deck = [...RANKS].flatMap((r) => [...SUITS].map((s) => r + s));

test("card values run from 3D (0) to 2S (51), rank first, then suit", () => {
  assert.equal(cardValue("3D"), 0);
  assert.equal(cardValue("3S"), 3);
  assert.equal(cardValue("4D"), 4);
  assert.equal(cardValue("2S"), 51);
  assert.deepEqual(
    deck.map(cardValue),
    deck.map((_, i) => i),
  );
});

test("sortCards sorts by value and leaves its argument alone", () => {
  const hand = ["2S", "3S", "TD", "3D", "AH", "9C", "JS"];
  assert.deepEqual(sortCards(hand), ["3D", "3S", "9C", "TD", "JS", "AH", "2S"]);
  assert.deepEqual(hand[0], "2S");
});

test("isCard accepts the 52 codes and nothing else", () => {
  for (const c of deck) assert.ok(isCard(c), c);
  for (const c of ["", "3", "3d", "1D", "10D", "3DD", "XD", 3, null, undefined, ["3D"]]) {
    assert.equal(isCard(c), false, String(c));
  }
});

test("labels, names and colours", () => {
  const cases = [
    { c: "TH", label: "10♥", name: "10 of hearts", red: true, plural: "10s" },
    { c: "3D", label: "3♦", name: "3 of diamonds", red: true, plural: "3s" },
    { c: "QS", label: "Q♠", name: "queen of spades", red: false, plural: "queens" },
    { c: "AC", label: "A♣", name: "ace of clubs", red: false, plural: "aces" },
    { c: "2C", label: "2♣", name: "2 of clubs", red: false, plural: "2s" },
  ];
  for (const k of cases) {
    assert.equal(cardLabel(k.c), k.label);
    assert.equal(cardName(k.c), k.name);
    assert.equal(isRed(k.c), k.red, k.c);
    assert.equal(rankPlural(k.c), k.plural);
  }
});
