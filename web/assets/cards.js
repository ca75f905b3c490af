// cards.js: Big Two cards as the protocol writes them, two characters,
// rank then suit: ranks 3 4 5 6 7 8 9 T J Q K A 2 (low to high), suits
// D C H S (♦ ♣ ♥ ♠, low to high). A card's value is its rank, then its
// suit: 3D is the lowest card, 2S the highest. Pure functions.

/** The ranks, lowest first. */
export const RANKS = "3456789TJQKA2";
/** The suits, lowest first. */
export const SUITS = "DCHS";

/** @type {Readonly<Record<string, string>>} */
export const SUIT_SYMBOLS = Object.freeze({ D: "♦", C: "♣", H: "♥", S: "♠" });
/** @type {Readonly<Record<string, string>>} */
const SUIT_NAMES = Object.freeze({ D: "diamonds", C: "clubs", H: "hearts", S: "spades" });
/** @type {Readonly<Record<string, string>>} */
const RANK_NAMES = Object.freeze({ T: "10", J: "jack", Q: "queen", K: "king", A: "ace" });

/**
 * isCard reports whether c is a card code such as "3D" or "TS".
 * @param {unknown} c
 * @returns {c is string}
 */
export function isCard(c) {
  return typeof c === "string" && c.length === 2 && RANKS.includes(c[0]) && SUITS.includes(c[1]);
}

/**
 * rankIndex is the card's rank, 0 (3) to 12 (2).
 * @param {string} c
 */
export function rankIndex(c) {
  return RANKS.indexOf(c[0]);
}

/**
 * suitIndex is the card's suit, 0 (♦) to 3 (♠).
 * @param {string} c
 */
export function suitIndex(c) {
  return SUITS.indexOf(c[1]);
}

/**
 * cardValue orders cards: 0 for 3D up to 51 for 2S.
 * @param {string} c
 */
export function cardValue(c) {
  return rankIndex(c) * 4 + suitIndex(c);
}

/**
 * compareCards orders cards by value, for Array.prototype.sort.
 * @param {string} a
 * @param {string} b
 */
export function compareCards(a, b) {
  return cardValue(a) - cardValue(b);
}

/**
 * sortCards returns the cards sorted by value, lowest first (as the
 * server sends them); it does not change its argument.
 * @param {readonly string[]} cards
 * @returns {string[]}
 */
export function sortCards(cards) {
  return [...cards].sort(compareCards);
}

/**
 * isRed reports whether the card is a diamond or a heart.
 * @param {string} c
 */
export function isRed(c) {
  return c[1] === "D" || c[1] === "H";
}

/**
 * rankLabel is the rank as printed on a card: "10" for T.
 * @param {string} c
 */
export function rankLabel(c) {
  return c[0] === "T" ? "10" : c[0];
}

/**
 * cardLabel is the card as printed: "10♥", "3♦".
 * @param {string} c
 */
export function cardLabel(c) {
  return rankLabel(c) + SUIT_SYMBOLS[c[1]];
}

/**
 * cardName is the card in words, for screen readers: "queen of hearts".
 * @param {string} c
 */
export function cardName(c) {
  return `${RANK_NAMES[c[0]] ?? c[0]} of ${SUIT_NAMES[c[1]]}`;
}

/**
 * rankPlural names several cards of c's rank: "7s", "10s", "jacks".
 * @param {string} c
 */
export function rankPlural(c) {
  const n = RANK_NAMES[c[0]];
  return n && n !== "10" ? n + "s" : rankLabel(c) + "s";
}
