package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Message
		wantErr bool
	}{
		{name: "minimal", in: `{"type":"ping"}`, want: Message{Type: "ping"}},
		{name: "all fields", in: ` {"type":"room.say","id":"r1","data":{"room":"a","text":"hi"}}`,
			want: Message{Type: "room.say", ID: json.RawMessage(`"r1"`), Data: json.RawMessage(`{"room":"a","text":"hi"}`)}},
		{name: "numeric id", in: `{"type":"ping","id":-12.5e3}`, want: Message{Type: "ping", ID: json.RawMessage(`-12.5e3`)}},
		{name: "null id", in: `{"type":"ping","id":null}`, want: Message{Type: "ping"}},
		{name: "escaped type", in: `{"type":"p\u0069ng"}`, want: Message{Type: "ping"}},
		{name: "empty", in: ``, wantErr: true},
		{name: "array", in: `[{"type":"ping"}]`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "no type", in: `{"data":1}`, wantErr: true},
		{name: "empty type", in: `{"type":""}`, wantErr: true},
		{name: "numeric type", in: `{"type":1}`, wantErr: true},
		{name: "long type", in: `{"type":"` + string(make([]byte, 65)) + `"}`, wantErr: true},
		{name: "object id", in: `{"type":"ping","id":{}}`, wantErr: true},
		{name: "bool id", in: `{"type":"ping","id":true}`, wantErr: true},
		{name: "trailing garbage", in: `{"type":"ping"} x`, wantErr: true},
		{name: "truncated", in: `{"type":"ping"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFrame([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeFrame(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBadFrame) {
				t.Errorf("decodeFrame(%q) error = %v, want errBadFrame", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decodeFrame(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestEncodeFrame(t *testing.T) {
	tests := []struct {
		in   Message
		want string
	}{
		{Message{Type: "pong"}, `{"type":"pong"}`},
		{Message{Type: "pong", ID: json.RawMessage(`"x"`), Data: json.RawMessage(`{"a":1}`)}, `{"type":"pong","id":"x","data":{"a":1}}`},
		{Message{Type: "we\"ird\n"}, `{"type":"we\"ird\n"}`},
	}
	for _, tt := range tests {
		if got := string(encodeFrame(tt.in)); got != tt.want {
			t.Errorf("encodeFrame(%+v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzDecodeFrame: decoding never panics, and what decodes re-encodes to a
// frame that decodes to the same message. Seeds are in testdata/fuzz.
func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(`{"type":"ping","id":1}`))
	f.Add([]byte(`{"type":"room.join","id":"a","data":{"room":"lobby"}}`))
	f.Add([]byte(`{"TYPE":"ping","Id":1,"type":"pong","dAtA":[1,{"a":"}"}],"x":"\\\""}`))
	f.Add([]byte(`{"t\u0079pe":"game.x","data":{"room":"a"} , "id" : "7" }`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeFrame(b)
		ref, refErr := decodeFrameReflect(b)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("decodeFrame(%q) error = %v, encoding/json decoder says %v", b, err, refErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(ref, m); diff != "" {
			t.Fatalf("decodeFrame(%q) differs from the encoding/json decoder (-json +got):\n%s", b, diff)
		}
		if m.Type == "" {
			t.Fatalf("decodeFrame(%q) gave an empty type", b)
		}
		enc := encodeFrame(m)
		if !json.Valid(enc) {
			t.Fatalf("encodeFrame(decodeFrame(%q)) = %q, not JSON", b, enc)
		}
		m2, err := decodeFrame(enc)
		if err != nil {
			t.Fatalf("decodeFrame(%q) after round trip: %v", enc, err)
		}
		if m2.Type != m.Type {
			t.Fatalf("round trip type = %q, want %q", m2.Type, m.Type)
		}
	})
}

var benchFrame = []byte(`{"type":"game.play","id":"17","data":{"room":"table-42","cards":["3D","3C","3H"],"from":{"player_id":"x"}}}`)

func BenchmarkDecodeFrame(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFrame)))
	for b.Loop() {
		if _, err := decodeFrame(benchFrame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	m, _ := decodeFrame(benchFrame)
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeFrame(m)
	}
}

// decodeFrameReflect is decodeFrame as it was written with encoding/json:
// the fuzz test holds the scanner to it.
func decodeFrameReflect(b []byte) (Message, error) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return Message{}, errBadFrame
	}
	var raw struct {
		Type json.RawMessage `json:"type"`
		ID   json.RawMessage `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Message{}, errBadFrame
	}
	var typ string
	if len(raw.Type) == 0 || raw.Type[0] != '"' || json.Unmarshal(raw.Type, &typ) != nil || typ == "" || len(typ) > maxTypeLen {
		return Message{}, errBadFrame
	}
	m := Message{Type: typ}
	if len(raw.ID) > 0 && !bytes.Equal(raw.ID, []byte("null")) {
		switch c := raw.ID[0]; {
		case len(raw.ID) > maxIDLen:
			return Message{}, errBadFrame
		case c == '"', c == '-', c >= '0' && c <= '9':
			m.ID = raw.ID
		default:
			return Message{}, errBadFrame
		}
	}
	if len(raw.Data) > 0 {
		m.Data = raw.Data
	}
	return m, nil
}
