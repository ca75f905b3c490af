package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is one frame of the protocol: a JSON object
// {"type":"<name>","id":<optional correlation id>,"data":<any>}.
//
// Messages received from a client are decoded by the gateway; ID and Data are
// copies the Handler may keep. Messages given to Conn.Send must carry valid
// JSON in ID and Data (or leave them empty): the gateway writes them verbatim.
type Message struct {
	// Type names the frame, e.g. "room.join".
	Type string
	// ID is the request's correlation id (a JSON string or number) or empty.
	// Replies carry the request's ID verbatim.
	ID json.RawMessage
	// Data is the frame's payload, any JSON value, or empty.
	Data json.RawMessage
}

// Error is an error frame's body. A Handler returns it (as a value) from
// Message to answer the request with
// {"type":"error","id":<request id>,"data":{"code":Code,"message":Message}}
// while the socket stays open.
type Error struct {
	// Code is a snake_case code of the contract, e.g. "not_in_room".
	Code string `json:"code"`
	// Message is a short human-readable explanation.
	Message string `json:"message"`
}

// Error implements error.
func (e Error) Error() string { return e.Code + ": " + e.Message }

// Limits of decoded frames: longer types and ids are refused as bad_request.
const (
	maxTypeLen = 64
	maxIDLen   = 128
)

// errBadFrame is wrapped by every decodeFrame error; its text is what the
// client sees in the bad_request error frame.
var errBadFrame = errors.New("bad frame")

// decodeFrame parses one text frame. It returns an error wrapping
// errBadFrame when b is not a JSON object, has no string "type", or has an
// "id" that is not a short string or number. The returned Message does not
// alias b.
func decodeFrame(b []byte) (Message, error) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return Message{}, fmt.Errorf("frame is not a JSON object: %w", errBadFrame)
	}
	var raw struct {
		Type json.RawMessage `json:"type"`
		ID   json.RawMessage `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Message{}, fmt.Errorf("frame is not valid JSON: %w", errBadFrame)
	}
	if len(raw.Type) == 0 || raw.Type[0] != '"' {
		return Message{}, fmt.Errorf("frame has no string type: %w", errBadFrame)
	}
	var typ string
	if err := json.Unmarshal(raw.Type, &typ); err != nil || typ == "" || len(typ) > maxTypeLen {
		return Message{}, fmt.Errorf("frame type is empty or too long: %w", errBadFrame)
	}
	m := Message{Type: typ}
	if len(raw.ID) > 0 && !bytes.Equal(raw.ID, []byte("null")) {
		switch c := raw.ID[0]; {
		case len(raw.ID) > maxIDLen:
			return Message{}, fmt.Errorf("frame id is too long: %w", errBadFrame)
		case c == '"', c == '-', c >= '0' && c <= '9':
			m.ID = raw.ID
		default:
			return Message{}, fmt.Errorf("frame id is not a string or number: %w", errBadFrame)
		}
	}
	if len(raw.Data) > 0 {
		m.Data = raw.Data
	}
	return m, nil
}

// encodeFrame renders m as one JSON text frame. ID and Data are written
// verbatim and omitted when empty.
func encodeFrame(m Message) []byte {
	b := make([]byte, 0, len(`{"type":"","id":,"data":}`)+len(m.Type)+len(m.ID)+len(m.Data))
	b = append(b, `{"type":`...)
	b = appendJSONString(b, m.Type)
	if len(m.ID) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, m.ID...)
	}
	if len(m.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, m.Data...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: verbatim when it needs no
// escaping (every frame type of the protocol), else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// errorFrame builds the contract's error frame answering the request id.
func errorFrame(id json.RawMessage, code, message string) Message {
	data, _ := json.Marshal(Error{Code: code, Message: message}) // two strings always marshal
	return Message{Type: "error", ID: id, Data: data}
}

// dataFrame builds a frame whose data is v marshalled. v must be a value
// that always marshals (the gateway's own small structs).
func dataFrame(typ string, id json.RawMessage, v any) Message {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gateway: marshal %s frame: %v", typ, err))
	}
	return Message{Type: typ, ID: id, Data: data}
}
