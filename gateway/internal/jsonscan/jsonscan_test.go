package jsonscan

import "testing"

func TestSkip(t *testing.T) {
	tests := []struct {
		name, in string
		skip     func([]byte, int) int
		want     int
	}{
		{"space", " \t\r\nx", SkipSpace, 4},
		{"no space", "x", SkipSpace, 0},
		{"string", `"a\"b" `, SkipString, 6},
		{"unterminated string", `"ab`, SkipString, 3},
		{"object", `{"a":[1,"]"],"b":{}} ,`, SkipValue, 20},
		{"array", `[[],[{}]],`, SkipValue, 9},
		{"number", `-1.5e3}`, SkipValue, 6},
		{"literal", `true `, SkipValue, 4},
		{"string value", `"x",`, SkipValue, 3},
		{"past the end", ``, SkipValue, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.skip([]byte(tt.in), 0); got != tt.want {
				t.Errorf("skip(%q, 0) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
