// Package petname generates public usernames such as "brave-otter-4821":
// an adjective, an animal and a four-digit number (1000–9999), joined by
// hyphens.
//
// The space is len(adjectives) × len(animals) × 9000: 523 adjectives ×
// 559 animals × 9000 numbers, about 2.6 × 10⁹ names (at least 10⁹ is tested),
// so that a fresh name rarely collides with an existing one; callers that
// need uniqueness (the session service) check it against their store and
// simply call Generate again on a collision.
//
// Names contain only lower-case ASCII letters, digits and '-', and are at
// most MaxLen bytes long. The word lists are curated for public display:
// no insults, slurs, body parts, drugs, violence, religion or politics.
//
// Randomness is an input: Generate takes a *rand.Rand so tests can pass a
// seeded one; NewRand returns one seeded from crypto/rand for production.
// Names are for people, not secrets: they are not meant to be unguessable.
package petname
