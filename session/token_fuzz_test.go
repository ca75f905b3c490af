package session

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// FuzzVerify feeds arbitrary tokens to Verify. With resign set, the fuzzed
// header and payload segments are signed with the ring's active key first,
// so that the fuzzer explores the strict header and claim decoding behind
// the signature check, which it could never pass by chance.
//
// Properties: see checkVerify.
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
		checkVerify(t, ring, token, now)
	})
}

// FuzzSignedJSON fuzzes the JSON of the header and of the claims directly,
// signed with the ring's active key (or, by sig, with a key the ring does
// not have, or not at all), verified at a fuzzed time around tokNow: it
// reaches the strict decoders far faster than mutating base64 text does.
//
// Properties: see checkVerify.
func FuzzSignedJSON(f *testing.F) {
	ring := tokRing(f)
	kid := tokKID(tokKeyA)
	headers := []string{
		`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`,
		` {"kid" : "` + kid + `",` + "\n" + `"\u0061lg":"HS\u0032\u00356"} `,
		`{"alg":"HS256","kid":"` + kid + `","crit":["exp"]}`,
	}
	claims := []string{
		`{"sub":"0b5d6f2e-3c1a-4e8b-9f70-1a2b3c4d5e6f","sid":"7c9e6679-7425-40de-944b-e07fc1f90ae7","name":"brave-otter","iat":1749999940,"exp":1750003600,"iss":"bigtwo-gateway","aud":"bigtwo","jti":"f47ac10b-58cc-4372-a567-0e02b2c3d479"}`,
		"{\"sub\":\"0b5d6f2e-3c1a-4e8b-9f70-1a2b3c4d5e6f\" ,\n\"sid\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"n\\u0061me\":\"br\\u00e9ve \\\"otter\\\" \\\\ \\/\",\"iat\":1749999940,\"exp\":1749999999,\"iss\":\"bigtwo\\u002dgateway\",\"aud\":\"bigtwo\",\"jti\":\"\\ud800x\"}\t",
		`{"sub":"0b5d6f2e-3c1a-4e8b-9f70-1a2b3c4d5e6f","sid":"7c9e6679-7425-40de-944b-e07fc1f90ae7","name":"x","iat":0,"exp":01750003600,"iss":"bigtwo-gateway","aud":["bigtwo"],"jti":"j"}`,
		`{"sub":"0b5d6f2e-3c1a-4e8b-9f70-1a2b3c4d5e6f","sid":"7c9e6679-7425-40de-944b-e07fc1f90ae7","name":"x","iat":1749999940,"exp":1750003600.0,"iss":"bigtwo-gateway","aud":"bigtwo","jti":"j","exp":1}`,
	}
	for _, h := range headers {
		for _, c := range claims {
			f.Add(h, c, byte(0), int64(0))
		}
	}
	f.Add(headers[0], claims[0], byte(1), int64(0))
	f.Add(headers[0], claims[0], byte(2), int64(0))
	f.Add(headers[0], claims[0], byte(0), int64(36000))
	f.Fuzz(func(t *testing.T, header, claims string, sig byte, tenths int64) {
		in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
		var token string
		switch sig % 3 {
		case 0:
			token = in + "." + tokMAC(sha256.New, tokKeyA, in)
		case 1:
			token = in + "." + tokMAC(sha256.New, tokKeyC, in)
		default:
			token = in + "."
		}
		checkVerify(t, ring, token, tokNow().Add(time.Duration(tenths%1_000_000)*100*time.Millisecond))
	})
}

// checkVerify verifies token at now and checks the properties every answer
// has: Verify never panics; an error wraps exactly one of ErrInvalidToken
// and ErrTokenExpired, comes with zero claims and does not quote the token;
// an accepted token is at most MaxTokenBytes long, re-verifies to the same
// claims, is accepted with the same claims by golang-jwt's parser set as
// strictly as it goes (Verify is never more lenient than the library), and
// its claims survive Sign and Verify.
func checkVerify(t *testing.T, ring *KeyRing, token string, now time.Time) {
	t.Helper()
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
	if diff := cmp.Diff(libraryVerify(t, ring, token, now), got); diff != "" {
		t.Fatalf("golang-jwt's claims differ from Verify's (-library +Verify):\n%s", diff)
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
}

// libraryVerify parses token with golang-jwt, as strictly as its options
// go and with the ring's key for its kid, and returns its claims, failing
// t if the library refuses it.
func libraryVerify(t *testing.T, ring *KeyRing, token string, now time.Time) AccessClaims {
	t.Helper()
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	claims := jwt.MapClaims{}
	_, err := p.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		i, ok := ring.kids[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return ring.keys[i], nil
	})
	if err != nil {
		t.Fatalf("Verify accepted a token golang-jwt refuses: %v", err)
	}
	str := func(name string) string {
		s, ok := claims[name].(string)
		if !ok {
			t.Fatalf("golang-jwt: claim %s is %T, want a string", name, claims[name])
		}
		return s
	}
	date := func(name string) time.Time {
		n, ok := claims[name].(float64)
		if !ok {
			t.Fatalf("golang-jwt: claim %s is %T, want a number", name, claims[name])
		}
		return time.Unix(int64(n), 0).UTC()
	}
	var c AccessClaims
	var err1, err2 error
	c.PlayerID, err1 = uuid.Parse(str("sub"))
	c.SessionID, err2 = uuid.Parse(str("sid"))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("golang-jwt: sub or sid: %v", err)
	}
	c.Username, c.ID = str("name"), str("jti")
	c.IssuedAt, c.ExpiresAt = date("iat"), date("exp")
	return c
}
