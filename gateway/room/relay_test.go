package room

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testFrom = `{"player_id":"p","username":"brave-otter"}`

func TestWithFrom(t *testing.T) {
	tests := []struct {
		name, data, want, room string
		ok                     bool
	}{
		{name: "adds from", data: `{"room":"t1","cards":["3D"]}`,
			want: `{"room":"t1","cards":["3D"],"from":` + testFrom + `}`, room: `"t1"`, ok: true},
		{name: "overwrites from", data: `{"from":{"player_id":"evil"},"room":"t1"}`,
			want: `{"room":"t1","from":` + testFrom + `}`, room: `"t1"`, ok: true},
		{name: "escaped from key", data: `{"room":"t1","fr\u006fm":"evil","from":1}`,
			want: `{"room":"t1","from":` + testFrom + `}`, room: `"t1"`, ok: true},
		{name: "nested from stays", data: ` { "room" : "t1" , "x" : {"from":"inner","s":"}\"{"} } `,
			want: `{"room":"t1","x":{"from":"inner","s":"}\"{"},"from":` + testFrom + `}`, room: `"t1"`, ok: true},
		{name: "other case is another key", data: `{"From":1,"room":"t1"}`,
			want: `{"From":1,"room":"t1","from":` + testFrom + `}`, room: `"t1"`, ok: true},
		{name: "last room wins", data: `{"room":"a","room":"b"}`,
			want: `{"room":"a","room":"b","from":` + testFrom + `}`, room: `"b"`, ok: true},
		{name: "no room", data: `{}`, want: `{"from":` + testFrom + `}`, ok: true},
		{name: "array", data: `[1]`},
		{name: "string", data: `"lobby"`},
		{name: "null", data: `null`},
		{name: "invalid", data: `{"room":}`},
		{name: "empty", data: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, room, ok := withFrom([]byte(tt.data), []byte(testFrom))
			if ok != tt.ok || string(out) != tt.want || string(room) != tt.room {
				t.Errorf("withFrom(%s) = %s, %s, %v, want %s, %s, %v", tt.data, out, room, ok, tt.want, tt.room, tt.ok)
			}
			if ok && !json.Valid(out) {
				t.Errorf("withFrom(%s) = %s, not JSON", tt.data, out)
			}
		})
	}
}

// FuzzWithFrom holds the splice to what decoding into a map, setting
// "from" and encoding again gives.
func FuzzWithFrom(f *testing.F) {
	f.Add([]byte(`{"room":"t1","cards":["3D"],"from":{"a":1}}`))
	f.Add([]byte(`{"r\u006fom":"x\"y","fr\u006fm":[{"from":2}],"n":-1.5e3,"b":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, room, ok := withFrom(data, []byte(testFrom))
		var ref map[string]json.RawMessage
		refOK := json.Unmarshal(data, &ref) == nil && ref != nil
		if ok != refOK {
			t.Fatalf("withFrom(%q) ok = %v, map decoding says %v", data, ok, refOK)
		}
		if !ok {
			return
		}
		if string(room) != string(ref["room"]) {
			t.Fatalf("withFrom(%q) room = %s, map decoding gives %s", data, room, ref["room"])
		}
		ref["from"] = json.RawMessage(testFrom)
		refOut, _ := json.Marshal(ref)
		// Numbers stay json.Number: 1e309 is valid JSON that a float64
		// cannot hold, and the splice forwards it as sent.
		got, err := decodeNumbers(out)
		if err != nil {
			t.Fatalf("withFrom(%q) = %q, not JSON: %v", data, out, err)
		}
		want, _ := decodeNumbers(refOut)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("withFrom(%q) differs from map decoding (-map +got):\n%s", data, diff)
		}
	})
}

// decodeNumbers decodes JSON keeping numbers as written.
func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func BenchmarkWithFrom(b *testing.B) {
	data := []byte(`{"room":"table-42","cards":["3D","3C","3H"],"ts":123456789,"from":{"player_id":"x"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := withFrom(data, []byte(testFrom)); !ok {
			b.Fatal("not an object")
		}
	}
}

// BenchmarkWithFromMap is the map decoding the splice replaced, for
// comparison.
func BenchmarkWithFromMap(b *testing.B) {
	data := []byte(`{"room":"table-42","cards":["3D","3C","3H"],"ts":123456789,"from":{"player_id":"x"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
		d["from"] = json.RawMessage(testFrom)
		if _, err := json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}
