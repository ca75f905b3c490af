package example_test

import (
	"os"
	"strings"
	"testing"
)

// docs/ROOMS.md shows guess.go, but for its package comment, as it is.
func TestGuideShowsThisCode(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/ROOMS.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("guess.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "\npackage example\n")+1:]
	const open = "```go\npackage example\n"
	i := strings.LastIndex(string(doc), open)
	if i < 0 {
		t.Fatal("docs/ROOMS.md has no code block starting with package example")
	}
	block, _, ok := strings.Cut(string(doc[i+len("```go\n"):]), "```\n")
	if !ok || block != code {
		t.Error("the code in docs/ROOMS.md is not guess.go: copy guess.go from \"package example\" on into it")
	}
}
