package petname

import (
	crand "crypto/rand"
	"math/rand/v2"
	"strconv"
)

// MaxLen is the maximum length in bytes of a generated name.
const MaxLen = 40

// The number suffix is drawn uniformly from [minSuffix, minSuffix+suffixes),
// so it always has four digits and never a leading zero.
const (
	minSuffix = 1000
	suffixes  = 9000
)

// Generate returns a random name of the form adjective-animal-NNNN, every
// name of the space being equally likely. It draws from rng only; rng is
// used without locking, so do not share it between goroutines without
// synchronisation.
func Generate(rng *rand.Rand) string {
	adj := adjectives[rng.IntN(len(adjectives))]
	animal := animals[rng.IntN(len(animals))]
	n := minSuffix + rng.IntN(suffixes)
	b := make([]byte, 0, len(adj)+len(animal)+6)
	b = append(b, adj...)
	b = append(b, '-')
	b = append(b, animal...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(n), 10)
	return string(b)
}

// NewRand returns a random source seeded from crypto/rand, for production
// use with Generate. The returned *rand.Rand is not safe for concurrent use.
func NewRand() *rand.Rand {
	var seed [32]byte
	crand.Read(seed[:]) // never returns an error (it crashes the program instead)
	return rand.New(rand.NewChaCha8(seed))
}
