package session

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzVerify feeds arbitrary tokens to Verify. With resign set, the fuzzed
// header and payload segments are signed with the ring's active key first,
// so that the fuzzer explores the strict header and claim decoding behind
// the signature check, which it could never pass by chance.
//
// Properties: Verify never panics; an error wraps exactly one of
// ErrInvalidToken and ErrTokenExpired, comes with zero claims and does not
// quote the token; an accepted token is at most MaxTokenBytes long,
// re-verifies to the same claims, and those claims survive Sign and Verify.
func FuzzVerify(f *testing.F) {
	ring := tokRing(f)
	hdr, claims := tokHeader(tokKeyA), tokClaims()
	for _, seed := range []string{
		tokCraft(f, hdr, claims, tokKeyA),
		tokCraft(f, tokHeader(tokKeyB), claims, tokKeyB),
		tokCraft(f, hdr, tokWith(claims, "exp", tokNowUnix-1), tokKeyA),
		tokCraft(f, hdr, tokWith(claims, "aud", []string{Audience}), tokKeyA),
		tokCraft(f, tokWith(hdr, "jku", "https://evil.example/"), claims, tokKeyA),
		tokInput(f, tokWith(hdr, "alg", "none"), claims) + ".",
		tokCraft(f, hdr, `{"sub":1,"exp":"x"}`, tokKeyA),
		"",
		"a.b.c",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	now := tokNow()
	f.Fuzz(func(t *testing.T, token string, resign bool) {
		if resign {
			if h, rest, ok := strings.Cut(token, "."); ok {
				p, _, _ := strings.Cut(rest, ".")
				token = h + "." + p + "." + tokMAC(sha256.New, tokKeyA, h+"."+p)
			}
		}
		got, err := ring.Verify(token, now)
		if err != nil {
			if errors.Is(err, ErrInvalidToken) == errors.Is(err, ErrTokenExpired) {
				t.Fatalf("Verify error = %v, want exactly one of ErrInvalidToken and ErrTokenExpired", err)
			}
			if got != (AccessClaims{}) {
				t.Fatalf("Verify returned claims %+v with error %v", got, err)
			}
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("Verify error %q quotes the token", err)
			}
			return
		}
		if len(token) > MaxTokenBytes {
			t.Fatalf("Verify accepted a token of %d bytes", len(token))
		}
		again, err := ring.Verify(token, now)
		if err != nil {
			t.Fatalf("Verify accepted the token once, then: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("Verify twice differs (-first +second):\n%s", diff)
		}
		signed, err := ring.Sign(got)
		if errors.Is(err, errTokenTooLong) {
			return // JSON escapes Sign adds (\u003c for <) can outgrow the limit
		}
		if err != nil {
			t.Fatalf("Sign(claims of an accepted token): %v", err)
		}
		resigned, err := ring.Verify(signed, now)
		if err != nil {
			t.Fatalf("Verify(Sign(claims of an accepted token)): %v", err)
		}
		if diff := cmp.Diff(got, resigned); diff != "" {
			t.Fatalf("claims changed through Sign and Verify (-before +after):\n%s", diff)
		}
	})
}
