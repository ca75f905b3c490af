// combos.js: Big Two combinations as the protocol names them (`combo` in
// frames): what a set of cards is, whether it beats the cards on the table,
// the lowest play that does, and how to say it. Pure functions; the
// server's judgement is the one that counts, this is for hints and words.
import { SUIT_SYMBOLS, cardLabel, cardValue, isCard, rankIndex, rankPlural, sortCards } from "./cards.js";

/** The combinations of the protocol. */
export const Combo = Object.freeze({
  SINGLE: "single",
  PAIR: "pair",
  TRIPLE: "triple",
  STRAIGHT: "straight",
  FLUSH: "flush",
  FULL_HOUSE: "full_house",
  FOUR_OF_A_KIND: "four_of_a_kind",
  STRAIGHT_FLUSH: "straight_flush",
});

/** @typedef {typeof Combo[keyof typeof Combo]} ComboName */

/** Five-card classes, lowest first: a higher class beats any lower one. */
/** @type {readonly string[]} */
const FIVE = [Combo.STRAIGHT, Combo.FLUSH, Combo.FULL_HOUSE, Combo.FOUR_OF_A_KIND, Combo.STRAIGHT_FLUSH];

/** @type {Readonly<Record<string, string>>} */
const NAMES = Object.freeze({
  single: "Single",
  pair: "Pair",
  triple: "Triple",
  straight: "Straight",
  flush: "Flush",
  full_house: "Full house",
  four_of_a_kind: "Four of a kind",
  straight_flush: "Straight flush",
});

/**
 * What a set of cards is: its combination, its sorted cards, and the key
 * that orders combinations of one kind (higher beats lower).
 * @typedef {object} Classified
 * @property {ComboName} combo
 * @property {string[]} cards sorted, lowest first
 * @property {number} key
 */

/**
 * classify says which combination cards make, or null for none (four
 * cards, five that are no hand, repeated or unknown cards).
 * @param {readonly string[]} cards
 * @returns {Classified | null}
 */
export function classify(cards) {
  if (!cards.every(isCard) || new Set(cards).size !== cards.length) return null;
  const cs = sortCards(cards);
  const top = cs[cs.length - 1];
  const sameRank = cs.every((c) => c[0] === cs[0][0]);
  switch (cs.length) {
    case 1:
      return { combo: Combo.SINGLE, cards: cs, key: cardValue(top) };
    case 2:
      return sameRank ? { combo: Combo.PAIR, cards: cs, key: cardValue(top) } : null;
    case 3:
      return sameRank ? { combo: Combo.TRIPLE, cards: cs, key: cardValue(top) } : null;
    case 5:
      return five(cs);
    default:
      return null;
  }
}

/**
 * @param {string[]} cs five sorted cards
 * @returns {Classified | null}
 */
function five(cs) {
  const ranks = cs.map(rankIndex);
  const flush = cs.every((c) => c[1] === cs[0][1]);
  const straight = ranks.every((r, i) => i === 0 || r === ranks[i - 1] + 1);
  const top = cardValue(cs[4]);
  if (straight) return { combo: flush ? Combo.STRAIGHT_FLUSH : Combo.STRAIGHT, cards: cs, key: top };
  if (flush) return { combo: Combo.FLUSH, cards: cs, key: top };
  /** @type {Map<number, number>} */
  const counts = new Map();
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1);
  const byCount = [...counts].sort((a, b) => b[1] - a[1]);
  if (byCount[0][1] === 4) return { combo: Combo.FOUR_OF_A_KIND, cards: cs, key: byCount[0][0] };
  if (byCount[0][1] === 3 && byCount[1][1] === 2) return { combo: Combo.FULL_HOUSE, cards: cs, key: byCount[0][0] };
  return null;
}

/**
 * beats reports whether play beats the current combination: as many
 * cards, and higher (a higher five-card class, or the same kind with a
 * higher key).
 * @param {Classified} play
 * @param {Classified} current
 */
export function beats(play, current) {
  if (play.cards.length !== current.cards.length) return false;
  if (play.cards.length === 5 && play.combo !== current.combo) {
    return FIVE.indexOf(play.combo) > FIVE.indexOf(current.combo);
  }
  return play.combo === current.combo && play.key > current.key;
}

/**
 * order sorts plays lowest first: by five-card class, then key.
 * @param {Classified} a
 * @param {Classified} b
 */
function order(a, b) {
  return FIVE.indexOf(a.combo) - FIVE.indexOf(b.combo) || a.key - b.key;
}

/**
 * @param {readonly string[]} hand
 * @param {number} k
 * @returns {string[][]}
 */
function choose(hand, k) {
  /** @type {string[][]} */
  const out = [];
  /**
   * @param {number} start
   * @param {string[]} picked
   */
  const walk = (start, picked) => {
    if (picked.length === k) {
      out.push(picked);
      return;
    }
    for (let i = start; i <= hand.length - (k - picked.length); i++) walk(i + 1, [...picked, hand[i]]);
  };
  walk(0, []);
  return out;
}

/**
 * lowestPlay is the bot's move of the contract, and the page's hint: when
 * leading (current null), the lowest single (3♦ on the game's first
 * trick); else the lowest play of the current size that beats it; else
 * null, a pass.
 * @param {readonly string[]} hand
 * @param {readonly string[] | null} current the cards on the table
 * @param {boolean} firstTrick the game's first play, which must hold 3♦
 * @returns {string[] | null}
 */
export function lowestPlay(hand, current, firstTrick = false) {
  const cs = sortCards(hand);
  if (!current || current.length === 0) {
    if (firstTrick) return cs.includes("3D") ? ["3D"] : null;
    return cs.length ? [cs[0]] : null;
  }
  const cur = classify(current);
  if (!cur) return null;
  const plays = choose(cs, current.length)
    .map(classify)
    .filter((p) => p !== null && beats(p, cur) && (!firstTrick || p.cards.includes("3D")));
  const best = /** @type {Classified[]} */ (plays).sort(order)[0];
  return best ? best.cards : null;
}

/**
 * comboName is a combination's name: "Full house".
 * @param {string} combo
 */
export function comboName(combo) {
  return NAMES[combo] ?? combo;
}

/**
 * describePlay says what cards are in words: "Pair of 7s", "Straight to
 * K♠", "Full house, 7s over 3s"; null when they are no combination.
 * @param {readonly string[]} cards
 */
export function describePlay(cards) {
  const p = classify(cards);
  if (!p) return null;
  const cs = p.cards;
  const top = cs[cs.length - 1];
  switch (p.combo) {
    case Combo.SINGLE:
      return cardLabel(top);
    case Combo.PAIR:
      return `Pair of ${rankPlural(top)}`;
    case Combo.TRIPLE:
      return `Three ${rankPlural(top)}`;
    case Combo.STRAIGHT:
      return `Straight to ${cardLabel(top)}`;
    case Combo.FLUSH:
      return `Flush in ${SUIT_SYMBOLS[top[1]]} to ${cardLabel(top)}`;
    case Combo.STRAIGHT_FLUSH:
      return `Straight flush to ${cardLabel(top)}`;
    case Combo.FULL_HOUSE: {
      const three = cs.find((c) => rankIndex(c) === p.key) ?? top;
      const two = cs.find((c) => rankIndex(c) !== p.key) ?? top;
      return `Full house, ${rankPlural(three)} over ${rankPlural(two)}`;
    }
    case Combo.FOUR_OF_A_KIND: {
      const four = cs.find((c) => rankIndex(c) === p.key) ?? top;
      return `Four ${rankPlural(four)}`;
    }
  }
  return comboName(p.combo);
}
