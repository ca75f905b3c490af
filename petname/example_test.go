package petname_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/bigtwo/gateway/petname"
)

func ExampleGenerate() {
	rng := rand.New(rand.NewPCG(1, 2)) // production code uses petname.NewRand()
	fmt.Println(petname.Generate(rng))
	// Output: silken-osprey-8059
}
