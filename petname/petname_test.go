package petname

import (
	"bufio"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

var nameRE = regexp.MustCompile(`^[a-z]+-[a-z]+-[1-9][0-9]{3}$`)

func TestGenerateFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		name := Generate(rng)
		if !nameRE.MatchString(name) {
			t.Fatalf("Generate() = %q, want a match of %s", name, nameRE)
		}
		if len(name) > MaxLen {
			t.Fatalf("Generate() = %q (%d bytes), want at most %d", name, len(name), MaxLen)
		}
	}
}

func TestLongestNameFits(t *testing.T) {
	longest := func(words []string) string {
		var l string
		for _, w := range words {
			if len(w) > len(l) {
				l = w
			}
		}
		return l
	}
	name := longest(adjectives[:]) + "-" + longest(animals[:]) + "-9999"
	if len(name) > MaxLen {
		t.Errorf("longest possible name %q is %d bytes, want at most %d", name, len(name), MaxLen)
	}
}

func TestSpaceSize(t *testing.T) {
	size := uint64(len(adjectives)) * uint64(len(animals)) * suffixes
	if size < 1e9 {
		t.Errorf("name space = %d (%d adjectives × %d animals × %d), want at least 10⁹",
			size, len(adjectives), len(animals), suffixes)
	}
}

// blocklist is the content of testdata/blocklist.txt.
type blocklist struct {
	words []string // must not equal a list word
	subs  []string // must not occur inside a list word
}

func readBlocklist(t *testing.T) blocklist {
	t.Helper()
	f, err := os.Open("testdata/blocklist.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b blocklist
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "word:"):
			b.words = append(b.words, strings.TrimPrefix(line, "word:"))
		case strings.HasPrefix(line, "sub:"):
			b.subs = append(b.subs, strings.TrimPrefix(line, "sub:"))
		default:
			t.Fatalf("testdata/blocklist.txt:%d: %q is neither word: nor sub:", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(b.words) == 0 || len(b.subs) == 0 {
		t.Fatal("testdata/blocklist.txt: empty blocklist")
	}
	return b
}

func TestWordLists(t *testing.T) {
	block := readBlocklist(t)
	wordRE := regexp.MustCompile(`^[a-z]{2,13}$`)
	lists := []struct {
		name  string
		words []string
	}{
		{"adjectives", adjectives[:]},
		{"animals", animals[:]},
	}
	seen := make(map[string]string) // word -> list, across both lists
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			if len(l.words) < 300 {
				t.Errorf("%d words, want at least 300", len(l.words))
			}
			for _, w := range l.words {
				if !wordRE.MatchString(w) {
					t.Errorf("word %q does not match %s", w, wordRE)
				}
				if other, ok := seen[w]; ok {
					t.Errorf("word %q is in %s and %s", w, other, l.name)
				}
				seen[w] = l.name
				for _, b := range block.words {
					if w == b {
						t.Errorf("word %q is blocked", w)
					}
				}
				for _, b := range block.subs {
					if strings.Contains(w, b) {
						t.Errorf("word %q contains blocked %q", w, b)
					}
				}
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	const draws = 100000
	rng := rand.New(rand.NewChaCha8([32]byte{'p', 'e', 't'}))
	adjCount := make(map[string]int)
	animalCount := make(map[string]int)
	suffixCount := make(map[string]int)
	names := make(map[string]bool, draws)
	for range draws {
		name := Generate(rng)
		names[name] = true
		parts := strings.Split(name, "-")
		adjCount[parts[0]]++
		animalCount[parts[1]]++
		suffixCount[parts[2][:1]]++ // leading digit: 1..9
	}
	// With ~2.6×10⁹ names, 10⁵ draws collide about twice on average.
	if len(names) < draws-20 {
		t.Errorf("%d distinct names in %d draws, want at least %d", len(names), draws, draws-20)
	}
	checks := []struct {
		name   string
		counts map[string]int
		values int
	}{
		{"adjective", adjCount, len(adjectives)},
		{"animal", animalCount, len(animals)},
		{"leading digit", suffixCount, 9},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if len(c.counts) != c.values {
				t.Errorf("%d distinct values drawn, want all %d", len(c.counts), c.values)
			}
			// Counts are binomial: with a mean of ~180 the standard deviation
			// is ~13, so twice the mean is over 13 deviations away.
			mean := float64(draws) / float64(c.values)
			for v, n := range c.counts {
				if float64(n) > 2*mean || float64(n) < mean/2 {
					t.Errorf("%s %q drawn %d times, want about %.0f", c.name, v, n, mean)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a := rand.New(rand.NewPCG(42, 7))
	b := rand.New(rand.NewPCG(42, 7))
	c := rand.New(rand.NewPCG(43, 7))
	differ := false
	for i := range 100 {
		na, nb, nc := Generate(a), Generate(b), Generate(c)
		if na != nb {
			t.Fatalf("draw %d: %q and %q from the same seed, want equal", i, na, nb)
		}
		differ = differ || na != nc
	}
	if !differ {
		t.Error("100 draws from different seeds were all equal")
	}
}

func TestNewRand(t *testing.T) {
	a, b := NewRand(), NewRand()
	same := 0
	for range 10 {
		na, nb := Generate(a), Generate(b)
		if !nameRE.MatchString(na) {
			t.Fatalf("Generate(NewRand()) = %q, want a match of %s", na, nameRE)
		}
		if na == nb {
			same++
		}
	}
	if same == 10 {
		t.Error("two NewRand sources produced the same 10 names: not randomly seeded")
	}
}
