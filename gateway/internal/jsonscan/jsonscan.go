// Package jsonscan forwards to session/jsonscan, where the project's one
// JSON scanner lives (the session package's token reader and the gateway's
// frame decoder share it). It stays only for gateway/room, which imports it
// until that package's rewrite imports session/jsonscan directly; it holds
// no scanning code of its own.
package jsonscan

import "github.com/bigtwo/gateway/session/jsonscan"

// SkipSpace is jsonscan.SkipSpace.
func SkipSpace(b []byte, i int) int { return jsonscan.SkipSpace(b, i) }

// SkipString is jsonscan.SkipString.
func SkipString(b []byte, i int) int { return jsonscan.SkipString(b, i) }

// SkipValue is jsonscan.SkipValue.
func SkipValue(b []byte, i int) int { return jsonscan.SkipValue(b, i) }
