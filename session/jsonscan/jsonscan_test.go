package jsonscan

import (
	"fmt"
	"testing"
)

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

func TestObject(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // name=value of each member
		err      string
	}{
		{"members", ` {"a":"x","b\u0041":12, "c":0} `, []string{`a="x"`, `bA=12`, `c=0`}, ""},
		{"empty", `{}`, nil, ""},
		{"not an object", `["a"]`, nil, "not a JSON object"},
		{"trailing data", `{"a":1}}`, []string{`a=1`}, "data after the object"},
		{"negative", `{"a":-1}`, nil, "value neither a string nor an integer"},
		{"fraction", `{"a":1.5}`, []string{`a=1`}, "bad JSON"},
		{"leading zero", `{"a":01}`, []string{`a=0`}, "bad JSON"},
		{"nested", `{"a":{}}`, nil, "value neither a string nor an integer"},
		{"control character", "{\"a\":\"x\ny\"}", nil, "bad JSON"},
		{"bad escape", `{"a\x":1}`, nil, "bad JSON"},
		{"unterminated", `{"a":"x`, nil, "bad JSON"},
		{"escaped quote at the end", `{"a":"x\"`, nil, "bad JSON"},
		{"missing colon", `{"a" 1}`, nil, "bad JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewObject([]byte(tt.in))
			var got []string
			var err error
			for {
				var name, v []byte
				var ok bool
				name, v, ok, err = o.Next()
				if err != nil || !ok {
					break
				}
				got = append(got, string(name)+"="+string(v))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("Object(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}
