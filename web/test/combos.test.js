import assert from "node:assert/strict";
import { test } from "node:test";

import { Combo, beats, classify, comboName, describePlay, lowestPlay } from "../assets/combos.js";

test("classify names every combination of the contract", () => {
  const cases = [
    { cards: ["3D"], combo: Combo.SINGLE },
    { cards: ["7S", "7D"], combo: Combo.PAIR },
    { cards: ["KD", "KS", "KH"], combo: Combo.TRIPLE },
    { cards: ["3D", "4C", "5H", "6S", "7D"], combo: Combo.STRAIGHT, name: "lowest straight" },
    { cards: ["JD", "QC", "KH", "AS", "2D"], combo: Combo.STRAIGHT, name: "highest straight" },
    { cards: ["3H", "9H", "JH", "KH", "2H"], combo: Combo.FLUSH },
    { cards: ["7D", "7C", "7H", "3S", "3D"], combo: Combo.FULL_HOUSE },
    { cards: ["9D", "9C", "9H", "9S", "4D"], combo: Combo.FOUR_OF_A_KIND },
    { cards: ["5S", "6S", "7S", "8S", "9S"], combo: Combo.STRAIGHT_FLUSH },
    { cards: ["TC", "JC", "QC", "KC", "AC"], combo: Combo.STRAIGHT_FLUSH },
  ];
  for (const c of cases) assert.equal(classify(c.cards)?.combo, c.combo, c.name ?? c.cards.join(" "));
});

test("classify refuses what is no combination", () => {
  const cases = [
    { cards: [], name: "nothing" },
    { cards: ["3D", "4D"], name: "two ranks" },
    { cards: ["3D", "3C", "4D"], name: "a triple of two ranks" },
    { cards: ["3D", "3C", "3H", "3S"], name: "four cards" },
    { cards: ["QD", "KC", "AH", "2S", "3D"], name: "straights do not wrap" },
    { cards: ["KD", "AC", "2H", "3S", "4D"], name: "nor round the 2" },
    { cards: ["3D", "3C", "5H", "5S", "7D"], name: "two pairs and a card" },
    { cards: ["3D", "3D"], name: "a repeated card" },
    { cards: ["1D"], name: "an unknown code" },
    { cards: ["3D", "4C", "5H", "6S", "7D", "8C"], name: "six cards" },
  ];
  for (const c of cases) assert.equal(classify(c.cards), null, c.name);
});

test("beats: as many cards and higher; five-card classes in order", () => {
  /** @param {string} s */
  const p = (s) => {
    const c = classify(s.split(" "));
    assert.ok(c, s);
    return c;
  };
  const cases = [
    { a: "3S", b: "3D", want: true, name: "same rank, higher suit" },
    { a: "4D", b: "3S", want: true, name: "higher rank beats any suit" },
    { a: "2S", b: "2S", want: false, name: "not by itself" },
    { a: "3D", b: "2S", want: false },
    { a: "7S 7D", b: "7H 7C", want: true, name: "pairs: the highest suit decides" },
    { a: "7H 7C", b: "7S 7D", want: false },
    { a: "8D 8C", b: "7S 7H", want: true },
    { a: "9S", b: "3D 3C", want: false, name: "a different number of cards never beats" },
    { a: "4D 5C 6H 7S 8D", b: "3D 4C 5H 6S 7S", want: true, name: "straights by the highest card" },
    { a: "3D 4C 5H 6S 7S", b: "3C 4D 5S 6H 7H", want: true, name: "same ranks: the top card's suit" },
    { a: "3H 5H 7H 9H JH", b: "JD QC KH AS 2S", want: true, name: "any flush beats any straight" },
    { a: "3D 3C 3H 4S 4D", b: "2H 9H JH KH AH", want: true, name: "a full house beats any flush" },
    { a: "4D 4C 4H 3S 3D", b: "3C 3H 3S 2S 2D", want: true, name: "full houses by their three" },
    { a: "5D 5C 5H 5S 3D", b: "2D 2C 2H AS AD", want: true, name: "four of a kind beats any full house" },
    { a: "3C 4C 5C 6C 7C", b: "2D 2C 2H 2S AD", want: true, name: "a straight flush beats four of a kind" },
    { a: "3D 4D 5D 6D 7D", b: "3C 4C 5C 6C 7C", want: false, name: "straight flushes by the top card" },
  ];
  for (const c of cases) assert.equal(beats(p(c.a), p(c.b)), c.want, c.name ?? `${c.a} over ${c.b}`);
});

test("lowestPlay is the contract's bot move", () => {
  const hand = ["3D", "5C", "5S", "6D", "7H", "8S", "9D", "KD", "KH", "KS", "2C"];
  const cases = [
    { current: null, first: true, want: ["3D"], name: "first trick: 3♦" },
    { current: null, first: false, want: ["3D"], name: "leading: the lowest single" },
    { current: ["6S"], first: false, want: ["7H"], name: "the lowest single that beats" },
    { current: ["2S"], first: false, want: null, name: "nothing beats: pass" },
    { current: ["4D", "4C"], first: false, want: ["5C", "5S"], name: "the lowest pair" },
    { current: ["5D", "5H"], first: false, want: ["5C", "5S"], name: "a pair by its highest suit" },
    { current: ["QD", "QC", "QH"], first: false, want: ["KD", "KH", "KS"] },
    { current: ["3C", "4C", "5H", "6S", "7D"], first: false, want: ["5C", "6D", "7H", "8S", "9D"], name: "a straight" },
  ];
  for (const c of cases) assert.deepEqual(lowestPlay(hand, c.current, c.first), c.want, c.name ?? String(c.current));
  assert.deepEqual(lowestPlay(["4D", "2S"], null, true), null, "first trick without 3♦");
});

test("lowestPlay takes the lowest class that beats, then the lowest within it", () => {
  const hand = ["3D", "3C", "3H", "4S", "4D", "6H", "8H", "9H", "JH", "QH"];
  // A straight on the table: the hand has flushes and a full house; the lowest flush.
  assert.deepEqual(lowestPlay(hand, ["3S", "4C", "5C", "6C", "7C"]), ["3H", "6H", "8H", "9H", "JH"]);
  // A flush on the table that beats ours: the full house.
  assert.deepEqual(lowestPlay(hand, ["3S", "5S", "7S", "9S", "KS"]), ["3D", "3C", "3H", "4D", "4S"]);
});

test("names and descriptions", () => {
  assert.equal(comboName("full_house"), "Full house");
  assert.equal(comboName("four_of_a_kind"), "Four of a kind");
  assert.equal(comboName("something_new"), "something_new");
  const cases = [
    { cards: ["TH"], want: "10♥" },
    { cards: ["7S", "7D"], want: "Pair of 7s" },
    { cards: ["KD", "KS", "KH"], want: "Three kings" },
    { cards: ["9D", "TC", "JH", "QS", "KD"], want: "Straight to K♦" },
    { cards: ["3H", "9H", "JH", "KH", "2H"], want: "Flush in ♥ to 2♥" },
    { cards: ["3D", "3C", "7H", "7S", "7D"], want: "Full house, 7s over 3s" },
    { cards: ["9D", "9C", "9H", "9S", "4D"], want: "Four 9s" },
    { cards: ["5S", "6S", "7S", "8S", "9S"], want: "Straight flush to 9♠" },
    { cards: ["3D", "4D"], want: null },
  ];
  for (const c of cases) assert.equal(describePlay(c.cards), c.want, c.cards.join(" "));
});
