package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// Test keys: A is the active key of the ring under test, B an old key still
// in it, C a key the ring does not have (another secret, or a dropped one).
const (
	tokKeyA = "key-A: 0123456789abcdef0123456789abcdef"
	tokKeyB = "key-B: 0123456789abcdef0123456789abcdef"
	tokKeyC = "key-C: 0123456789abcdef0123456789abcdef"

	tokNowUnix    = 1_750_000_000
	tokPlayerID   = "0b5d6f2e-3c1a-4e8b-9f70-1a2b3c4d5e6f"
	tokSessionID  = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	tokTokenID    = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
	tokUsername   = "brave-otter"
	tokValidIssAt = tokNowUnix - 60
	tokValidExpAt = tokNowUnix + 3600
)

// tokNow is the verification time of the tests.
func tokNow() time.Time { return time.Unix(tokNowUnix, 0).UTC() }

// tokDel, as a value in tokWith, deletes the claim or header parameter.
type tokDel struct{}

// tokKID is the kid of key computed independently of the code under test.
func tokKID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:12]
}

// tokHeader is a well-formed header for a key.
func tokHeader(key string) map[string]any {
	return map[string]any{"alg": "HS256", "typ": "JWT", "kid": tokKID(key)}
}

// tokClaims is a well-formed claim set, valid at tokNow.
func tokClaims() map[string]any {
	return map[string]any{
		"sub":  tokPlayerID,
		"sid":  tokSessionID,
		"name": tokUsername,
		"iat":  tokValidIssAt,
		"exp":  tokValidExpAt,
		"iss":  Issuer,
		"aud":  Audience,
		"jti":  tokTokenID,
	}
}

// tokWantClaims is what Verify returns for tokClaims.
func tokWantClaims() AccessClaims {
	return AccessClaims{
		PlayerID:  uuid.MustParse(tokPlayerID),
		SessionID: uuid.MustParse(tokSessionID),
		Username:  tokUsername,
		IssuedAt:  time.Unix(tokValidIssAt, 0).UTC(),
		ExpiresAt: time.Unix(tokValidExpAt, 0).UTC(),
		ID:        tokTokenID,
	}
}

// tokWith returns a copy of m with the pairs name, value set (or deleted
// when value is tokDel{}).
func tokWith(m map[string]any, kv ...any) map[string]any {
	m = maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		if _, del := kv[i+1].(tokDel); del {
			delete(m, name)
			continue
		}
		m[name] = kv[i+1]
	}
	return m
}

// tokSeg base64url-encodes v: raw JSON text if v is a string or []byte,
// else v marshaled.
func tokSeg(t testing.TB, v any) string {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal %v: %v", v, err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokMAC is the base64url HMAC of input under key.
func tokMAC(h func() hash.Hash, key, input string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokInput is the signing input header.payload.
func tokInput(t testing.TB, header, claims any) string {
	t.Helper()
	return tokSeg(t, header) + "." + tokSeg(t, claims)
}

// tokCraft builds a token from header and claims signed with HS256 under key.
func tokCraft(t testing.TB, header, claims any, key string) string {
	t.Helper()
	in := tokInput(t, header, claims)
	return in + "." + tokMAC(sha256.New, key, in)
}

// tokOfLength crafts an otherwise valid token signed by key A of exactly n
// bytes, by growing the username.
func tokOfLength(t testing.TB, n int) string {
	t.Helper()
	headers := []map[string]any{tokHeader(tokKeyA), tokWith(tokHeader(tokKeyA), "typ", tokDel{})}
	// Each 3 bytes of name add 4 bytes of token: start just short of n.
	base := len(tokCraft(t, headers[0], tokWith(tokClaims(), "name", "x"), tokKeyA))
	for size := max(1, (n-base)*3/4-8); size < n; size++ {
		for _, h := range headers {
			tok := tokCraft(t, h, tokWith(tokClaims(), "name", strings.Repeat("x", size)), tokKeyA)
			if len(tok) == n {
				return tok
			}
		}
	}
	t.Fatalf("no token of %d bytes", n)
	return ""
}

// tokRing is the ring under test: A active, B old.
func tokRing(t testing.TB) *KeyRing {
	t.Helper()
	k, err := NewKeyRing([]byte(tokKeyA), []byte(tokKeyB))
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	return k
}

// checkVerifyErr fails unless err wraps exactly the wanted one of
// ErrInvalidToken and ErrTokenExpired (or is nil when want is), and never
// quotes the token.
func checkVerifyErr(t *testing.T, token string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Verify = %v, want success", err)
	case want == nil:
		return
	case !errors.Is(err, want):
		t.Fatalf("Verify error = %v, want %v", err, want)
	case errors.Is(err, ErrInvalidToken) && errors.Is(err, ErrTokenExpired):
		t.Fatalf("Verify error = %v wraps both ErrInvalidToken and ErrTokenExpired", err)
	}
	for _, part := range append(strings.Split(token, "."), token) {
		if len(part) >= 8 && strings.Contains(err.Error(), part) {
			t.Fatalf("Verify error %q quotes the token", err)
		}
	}
}

// TestVerifyAttacks runs hand-crafted tokens, valid and hostile, through a
// ring of A (active) and B (old) at tokNow.
func TestVerifyAttacks(t *testing.T) {
	ring := tokRing(t)
	hdr := tokHeader(tokKeyA)
	claims := tokClaims()
	valid := tokCraft(t, hdr, claims, tokKeyA)
	validInput, validSig, _ := strings.Cut(valid[strings.Index(valid, ".")+1:], ".")
	validInput = valid[:strings.Index(valid, ".")] + "." + validInput
	with := func(kv ...any) string { return tokCraft(t, hdr, tokWith(claims, kv...), tokKeyA) }
	withHeader := func(kv ...any) string { return tokCraft(t, tokWith(hdr, kv...), claims, tokKeyA) }
	macWith := func(h func() hash.Hash, header map[string]any) string {
		in := tokInput(t, header, claims)
		return in + "." + tokMAC(h, tokKeyA, in)
	}
	// nonCanonical spells the signature's last character differently but
	// with the same decoded bytes (only its two high bits are used).
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(b64, valid[len(valid)-1])
	nonCanonical := valid[:len(valid)-1] + string(b64[last^1])
	otherValid := tokCraft(t, hdr, tokWith(claims, "name", "other-name"), tokKeyA)
	rawClaims := func(s string) string { return tokCraft(t, hdr, s, tokKeyA) }
	rawHeader := func(s string) string { return tokCraft(t, s, claims, tokKeyA) }
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	// Raw JSON for the rows on the strict decoder: claimsRaw is the claims
	// as encoding/json writes them, editRaw changes its first old to new.
	kidA, claimsRaw := tokKID(tokKeyA), string(claimsJSON)
	editRaw := func(old, new string) string { return rawClaims(strings.Replace(claimsRaw, old, new, 1)) }
	expiredJSON, err := json.Marshal(tokWith(claims, "exp", tokNowUnix-1))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		now   time.Time // zero: tokNow
		want  error     // nil, ErrInvalidToken or ErrTokenExpired
	}{
		// The baselines: every row below changes one thing in these.
		{name: "valid", token: valid},
		{name: "valid signed by an old key of the ring", token: tokCraft(t, tokHeader(tokKeyB), claims, tokKeyB)},
		{name: "valid without typ", token: withHeader("typ", tokDel{})},

		// Algorithms.
		{name: "alg none without signature", token: tokInput(t, tokWith(hdr, "alg", "none"), claims) + ".", want: ErrInvalidToken},
		{name: "alg none with signature", token: macWith(sha256.New, tokWith(hdr, "alg", "none")), want: ErrInvalidToken},
		{name: "alg None without signature", token: tokInput(t, tokWith(hdr, "alg", "None"), claims) + ".", want: ErrInvalidToken},
		{name: "alg None with signature", token: macWith(sha256.New, tokWith(hdr, "alg", "None")), want: ErrInvalidToken},
		{name: "alg nOnE without signature", token: tokInput(t, tokWith(hdr, "alg", "nOnE"), claims) + ".", want: ErrInvalidToken},
		{name: "alg nOnE with signature", token: macWith(sha256.New, tokWith(hdr, "alg", "nOnE")), want: ErrInvalidToken},
		{name: "alg NONE without kid or signature", token: tokInput(t, map[string]any{"alg": "NONE"}, claims) + ".", want: ErrInvalidToken},
		{name: "HS384 with the right key", token: macWith(sha512.New384, tokWith(hdr, "alg", "HS384")), want: ErrInvalidToken},
		{name: "HS512 with the right key", token: macWith(sha512.New, tokWith(hdr, "alg", "HS512")), want: ErrInvalidToken},
		{name: "alg hs256 lower case", token: withHeader("alg", "hs256"), want: ErrInvalidToken},
		{name: "RS256 header with an HMAC signature", token: withHeader("alg", "RS256"), want: ErrInvalidToken},
		{name: "ES256 header", token: withHeader("alg", "ES256"), want: ErrInvalidToken},
		{name: "PS256 header", token: withHeader("alg", "PS256"), want: ErrInvalidToken},
		{name: "EdDSA header", token: withHeader("alg", "EdDSA"), want: ErrInvalidToken},
		{name: "alg missing", token: withHeader("alg", tokDel{}), want: ErrInvalidToken},
		{name: "alg not a string", token: withHeader("alg", 256), want: ErrInvalidToken},
		{name: "alg an array", token: withHeader("alg", []string{"HS256"}), want: ErrInvalidToken},

		// Signatures.
		{name: "stripped signature", token: validInput + ".", want: ErrInvalidToken},
		{name: "no signature segment", token: validInput, want: ErrInvalidToken},
		{name: "truncated signature by one character", token: valid[:len(valid)-1], want: ErrInvalidToken},
		{name: "truncated signature by four characters", token: valid[:len(valid)-4], want: ErrInvalidToken},
		{name: "signature with an extra character", token: valid + "A", want: ErrInvalidToken},
		{name: "signature not base64url", token: validInput + "." + strings.Repeat("*", len(validSig)), want: ErrInvalidToken},
		{name: "signature spelled non-canonically", token: nonCanonical, want: ErrInvalidToken},
		{name: "signature from another key", token: tokCraft(t, hdr, claims, tokKeyC), want: ErrInvalidToken},
		{name: "signature of another token", token: validInput + "." + otherValid[strings.LastIndex(otherValid, ".")+1:], want: ErrInvalidToken},
		{name: "fourth segment", token: valid + "." + validSig, want: ErrInvalidToken},

		// Key IDs.
		{name: "unknown kid", token: withHeader("kid", "0123456789ab"), want: ErrInvalidToken},
		{name: "missing kid", token: withHeader("kid", tokDel{}), want: ErrInvalidToken},
		{name: "empty kid", token: withHeader("kid", ""), want: ErrInvalidToken},
		{name: "kid not a string", token: withHeader("kid", 12), want: ErrInvalidToken},
		{name: "kid of a dropped key, signed with it", token: tokCraft(t, tokHeader(tokKeyC), claims, tokKeyC), want: ErrInvalidToken},
		{name: "kid of the old key, signed with the active key", token: tokCraft(t, tokHeader(tokKeyB), claims, tokKeyA), want: ErrInvalidToken},

		// Other header parameters.
		{name: "jku header", token: withHeader("jku", "https://evil.example/jwks.json"), want: ErrInvalidToken},
		{name: "x5u header", token: withHeader("x5u", "https://evil.example/cert.pem"), want: ErrInvalidToken},
		{name: "crit header", token: withHeader("crit", []string{"exp"}), want: ErrInvalidToken},
		{name: "empty crit header", token: withHeader("crit", []string{}), want: ErrInvalidToken},
		{name: "jwk header", token: withHeader("jwk", map[string]any{"kty": "oct", "k": "AAAA"}), want: ErrInvalidToken},
		{name: "x5c header", token: withHeader("x5c", []string{"MIIB"}), want: ErrInvalidToken},
		{name: "x5t header", token: withHeader("x5t", "abc"), want: ErrInvalidToken},
		{name: "cty header", token: withHeader("cty", "JWT"), want: ErrInvalidToken},
		{name: "b64 header", token: withHeader("b64", false), want: ErrInvalidToken},
		{name: "typ not JWT", token: withHeader("typ", "at+jwt"), want: ErrInvalidToken},
		{name: "typ not a string", token: withHeader("typ", 1), want: ErrInvalidToken},
		{name: "duplicate alg in header", token: rawHeader(`{"alg":"HS256","kid":"` + tokKID(tokKeyA) + `","alg":"HS256"}`), want: ErrInvalidToken},
		{name: "duplicate kid in header", token: rawHeader(`{"alg":"HS256","kid":"0123456789ab","kid":"` + tokKID(tokKeyA) + `"}`), want: ErrInvalidToken},
		{name: "header an array", token: rawHeader(`["HS256"]`), want: ErrInvalidToken},
		{name: "header null", token: rawHeader(`null`), want: ErrInvalidToken},
		{name: "header not JSON", token: rawHeader(`{"alg":"HS256",`), want: ErrInvalidToken},
		{name: "header with trailing data", token: rawHeader(`{"alg":"HS256","kid":"` + tokKID(tokKeyA) + `"} {}`), want: ErrInvalidToken},

		// Expiry: ErrTokenExpired only when nothing else is wrong.
		{name: "expired a second ago", token: with("exp", tokNowUnix-1), want: ErrTokenExpired},
		{name: "expires now", token: with("exp", tokNowUnix), want: ErrTokenExpired},
		{name: "expired within the current second", token: with("exp", tokNowUnix), now: tokNow().Add(500 * time.Millisecond), want: ErrTokenExpired},
		{name: "expires in a second", token: with("exp", tokNowUnix+1)},
		{name: "expired, signed by the old key", token: tokCraft(t, tokHeader(tokKeyB), tokWith(claims, "exp", tokNowUnix-1), tokKeyB), want: ErrTokenExpired},
		{name: "expired and wrong issuer", token: with("exp", tokNowUnix-1, "iss", "someone-else"), want: ErrInvalidToken},
		{name: "expired and wrong audience", token: with("exp", tokNowUnix-1, "aud", "other"), want: ErrInvalidToken},
		{name: "expired and signed by another key", token: tokCraft(t, hdr, tokWith(claims, "exp", tokNowUnix-1), tokKeyC), want: ErrInvalidToken},
		{name: "expired and unknown kid", token: tokCraft(t, tokHeader(tokKeyC), tokWith(claims, "exp", tokNowUnix-1), tokKeyC), want: ErrInvalidToken},
		{name: "expired and alg none", token: tokInput(t, tokWith(hdr, "alg", "none"), tokWith(claims, "exp", tokNowUnix-1)) + ".", want: ErrInvalidToken},
		{name: "expired and sub not a uuid", token: with("exp", tokNowUnix-1, "sub", "player-1"), want: ErrInvalidToken},
		{name: "expired and exp before iat", token: with("exp", tokNowUnix-1, "iat", tokNowUnix+60), want: ErrInvalidToken},
		{name: "expired and an unknown claim", token: with("exp", tokNowUnix-1, "admin", true), want: ErrInvalidToken},
		{name: "missing exp", token: with("exp", tokDel{}), want: ErrInvalidToken},
		{name: "exp as a string", token: with("exp", "1750003600"), want: ErrInvalidToken},
		{name: "exp with a fraction", token: with("exp", json.Number("1750003600.5")), want: ErrInvalidToken},
		{name: "exp with a zero fraction", token: with("exp", json.Number("1750003600.0")), want: ErrInvalidToken},
		{name: "exp with an exponent", token: with("exp", json.Number("1.7500036e9")), want: ErrInvalidToken},
		{name: "exp negative", token: with("exp", -1), want: ErrInvalidToken},
		{name: "exp zero", token: with("exp", 0), want: ErrInvalidToken},
		{name: "exp beyond year 9999", token: with("exp", json.Number("100000000000000000000")), want: ErrInvalidToken},
		{name: "exp null", token: with("exp", nil), want: ErrInvalidToken},
		{name: "exp a boolean", token: with("exp", true), want: ErrInvalidToken},
		{name: "exp an array", token: with("exp", []int{tokValidExpAt}), want: ErrInvalidToken},
		{name: "exp equal to iat", token: with("iat", tokValidExpAt), want: ErrInvalidToken},
		{name: "exp before iat", token: with("iat", tokNowUnix-10, "exp", tokNowUnix-20), want: ErrInvalidToken},

		// Issued at: up to 5 s in the future is clock skew.
		{name: "iat 3 s in the future", token: with("iat", tokNowUnix+3)},
		{name: "iat 5 s in the future", token: with("iat", tokNowUnix+5)},
		{name: "iat 6 s in the future", token: with("iat", tokNowUnix+6), want: ErrInvalidToken},
		{name: "iat an hour in the future", token: with("iat", tokNowUnix+3600, "exp", tokNowUnix+7200), want: ErrInvalidToken},
		{name: "missing iat", token: with("iat", tokDel{}), want: ErrInvalidToken},
		{name: "iat as a string", token: with("iat", "1749999940"), want: ErrInvalidToken},
		{name: "iat with a fraction", token: with("iat", json.Number("1749999940.25")), want: ErrInvalidToken},

		// Issuer and audience.
		{name: "wrong iss", token: with("iss", "someone-else"), want: ErrInvalidToken},
		{name: "iss in another case", token: with("iss", strings.ToUpper(Issuer)), want: ErrInvalidToken},
		{name: "missing iss", token: with("iss", tokDel{}), want: ErrInvalidToken},
		{name: "empty iss", token: with("iss", ""), want: ErrInvalidToken},
		{name: "iss as a number", token: with("iss", 1), want: ErrInvalidToken},
		{name: "iss as an array", token: with("iss", []string{Issuer}), want: ErrInvalidToken},
		{name: "wrong aud", token: with("aud", "other"), want: ErrInvalidToken},
		{name: "missing aud", token: with("aud", tokDel{}), want: ErrInvalidToken},
		{name: "empty aud", token: with("aud", ""), want: ErrInvalidToken},
		{name: "aud as an array holding bigtwo", token: with("aud", []string{Audience}), want: ErrInvalidToken},
		{name: "aud as an array holding bigtwo and more", token: with("aud", []string{Audience, "other"}), want: ErrInvalidToken},
		{name: "aud as a number", token: with("aud", 2), want: ErrInvalidToken},

		// Subject, session, name, token ID.
		{name: "sub not a uuid", token: with("sub", "player-1"), want: ErrInvalidToken},
		{name: "sub an upper-case uuid", token: with("sub", strings.ToUpper(tokPlayerID)), want: ErrInvalidToken},
		{name: "sub a urn uuid", token: with("sub", "urn:uuid:"+tokPlayerID), want: ErrInvalidToken},
		{name: "sub a uuid in braces", token: with("sub", "{"+tokPlayerID+"}"), want: ErrInvalidToken},
		{name: "sub a uuid without hyphens", token: with("sub", strings.ReplaceAll(tokPlayerID, "-", "")), want: ErrInvalidToken},
		{name: "sub the nil uuid", token: with("sub", uuid.Nil.String()), want: ErrInvalidToken},
		{name: "sub as a number", token: with("sub", 42), want: ErrInvalidToken},
		{name: "sub empty", token: with("sub", ""), want: ErrInvalidToken},
		{name: "missing sub", token: with("sub", tokDel{}), want: ErrInvalidToken},
		{name: "missing sid", token: with("sid", tokDel{}), want: ErrInvalidToken},
		{name: "sid not a uuid", token: with("sid", "session-1"), want: ErrInvalidToken},
		{name: "sid as a number", token: with("sid", 7), want: ErrInvalidToken},
		{name: "sid the nil uuid", token: with("sid", uuid.Nil.String()), want: ErrInvalidToken},
		{name: "name as a number", token: with("name", 12), want: ErrInvalidToken},
		{name: "name null", token: with("name", nil), want: ErrInvalidToken},
		{name: "name an object", token: with("name", map[string]any{"first": "brave"}), want: ErrInvalidToken},
		{name: "name empty", token: with("name", ""), want: ErrInvalidToken},
		{name: "missing name", token: with("name", tokDel{}), want: ErrInvalidToken},
		{name: "name with escapes", token: with("name", "brave-<otter>-\u00e9")},
		{name: "name invalid UTF-8", token: rawClaims(strings.Replace(string(claimsJSON), tokUsername, "brave-\xff", 1)), want: ErrInvalidToken},
		{name: "missing jti", token: with("jti", tokDel{}), want: ErrInvalidToken},
		{name: "jti as a number", token: with("jti", 5), want: ErrInvalidToken},
		{name: "jti empty", token: with("jti", ""), want: ErrInvalidToken},

		// Claim names and the shape of the claim set.
		{name: "unknown claim", token: with("admin", true), want: ErrInvalidToken},
		{name: "nbf claim", token: with("nbf", tokNowUnix-60), want: ErrInvalidToken},
		{name: "EXP instead of exp", token: with("exp", tokDel{}, "EXP", tokValidExpAt), want: ErrInvalidToken},
		{name: "Exp beside exp", token: with("Exp", tokNowUnix-1), want: ErrInvalidToken},
		{name: "duplicate exp", token: rawClaims(strings.Replace(string(claimsJSON), "{", `{"exp":1,`, 1)), want: ErrInvalidToken},
		{name: "duplicate sub", token: rawClaims(strings.Replace(string(claimsJSON), "{", `{"sub":"`+tokSessionID+`",`, 1)), want: ErrInvalidToken},
		{name: "claims an array", token: rawClaims(`[1,2]`), want: ErrInvalidToken},
		{name: "claims null", token: rawClaims(`null`), want: ErrInvalidToken},
		{name: "claims a string", token: rawClaims(`"claims"`), want: ErrInvalidToken},
		{name: "claims empty object", token: rawClaims(`{}`), want: ErrInvalidToken},
		{name: "claims with trailing data", token: rawClaims(string(claimsJSON) + ` {}`), want: ErrInvalidToken},
		{name: "claims not JSON", token: rawClaims(`{"sub":`), want: ErrInvalidToken},

		// The strict JSON decoding: whatever encoding/json accepts, and no
		// more (whitespace and escapes are JSON; anything else is not).
		{name: "header with whitespace and escapes", token: rawHeader(" {\n \"typ\" : \"JWT\" ,\t\"kid\":\"" + kidA + "\" ,\"\\u0061lg\": \"HS\\u0032\\u00356\"}\r\n ")},
		{name: "kid with an escape", token: rawHeader(`{"alg":"HS256","kid":"` + fmt.Sprintf(`\u%04x`, kidA[0]) + kidA[1:] + `"}`)},
		{name: "claims with whitespace", token: rawClaims(" \n" + strings.ReplaceAll(strings.ReplaceAll(claimsRaw, ",", " ,\t"), ":", ": ") + "\r\n")},
		{name: "claim name with an escape", token: editRaw(`"exp"`, `"\u0065xp"`)},
		{name: "sub with an escape", token: editRaw(`"sub":"0`, `"sub":"\u0030`)},
		{name: "iss and aud with escapes", token: rawClaims(strings.NewReplacer(`"bigtwo-gateway"`, `"bigtwo\u002dgateway"`, `"aud":"bigtwo"`, `"aud":"\u0062igtwo"`).Replace(claimsRaw))},
		{name: "name with every JSON escape", token: with("name", "q\"b\\s/\b\f\n\r\t\u0000\u00e9\U0001F600")},
		{name: "name with an escaped solidus", token: editRaw(tokUsername, `brave\/otter`)},
		{name: "name with a lone surrogate escape", token: editRaw(tokUsername, `brave-\ud800`)},
		{name: "exp at the last second of year 9999", token: with("exp", json.Number("253402300799"))},
		{name: "expired, with escapes and whitespace", token: rawClaims(strings.Replace(string(expiredJSON), `"exp":`, "\"\\u0065xp\" :\n", 1)), want: ErrTokenExpired},
		{name: "exp past the last second of year 9999", token: with("exp", json.Number("253402300800")), want: ErrInvalidToken},
		{name: "exp with a leading zero", token: editRaw(`"exp":1`, `"exp":01`), want: ErrInvalidToken},
		{name: "exp with a plus sign", token: editRaw(`"exp":1`, `"exp":+1`), want: ErrInvalidToken},
		{name: "exp negative zero", token: with("exp", json.Number("-0")), want: ErrInvalidToken},
		{name: "exp hexadecimal", token: editRaw(`"exp":1750003600`, `"exp":0x684FE610`), want: ErrInvalidToken},
		{name: "iat zero", token: with("iat", 0), want: ErrInvalidToken},
		{name: "duplicate exp spelled with an escape", token: editRaw("{", `{"\u0065xp":1750003600,`), want: ErrInvalidToken},
		{name: "duplicate typ in header", token: rawHeader(`{"alg":"HS256","kid":"` + kidA + `","typ":"JWT","typ":"JWT"}`), want: ErrInvalidToken},
		{name: "header with a trailing comma", token: rawHeader(`{"alg":"HS256","kid":"` + kidA + `",}`), want: ErrInvalidToken},
		{name: "header with single quotes", token: rawHeader(`{'alg':'HS256','kid':'` + kidA + `'}`), want: ErrInvalidToken},
		{name: "header with invalid UTF-8", token: rawHeader("{\"alg\":\"HS256\",\"kid\":\"" + kidA + "\",\"typ\":\"JWT\xff\"}"), want: ErrInvalidToken},
		{name: "header empty", token: rawHeader(``), want: ErrInvalidToken},
		{name: "header an empty object", token: rawHeader(`{}`), want: ErrInvalidToken},
		{name: "claims empty", token: rawClaims(``), want: ErrInvalidToken},
		{name: "claims with a trailing comma", token: editRaw("}", ",}"), want: ErrInvalidToken},
		{name: "claims missing a comma", token: editRaw(`,"exp"`, ` "exp"`), want: ErrInvalidToken},
		{name: "claims missing a colon", token: editRaw(`"exp":`, `"exp" `), want: ErrInvalidToken},
		{name: "claim name not quoted", token: editRaw(`"exp":`, `exp:`), want: ErrInvalidToken},
		{name: "claim name with a bad escape", token: editRaw(`"exp"`, `"\exp"`), want: ErrInvalidToken},
		{name: "name with a raw tab", token: editRaw(tokUsername, "brave\totter"), want: ErrInvalidToken},
		{name: "name with a bad escape", token: editRaw(tokUsername, `brave\xotter`), want: ErrInvalidToken},
		{name: "name with a short unicode escape", token: editRaw(tokUsername, `brave\u00e`), want: ErrInvalidToken},
		{name: "name unterminated", token: rawClaims(claimsRaw[:strings.Index(claimsRaw, tokUsername)+3]), want: ErrInvalidToken},
		{name: "claims with a byte order mark", token: rawClaims("\ufeff" + claimsRaw), want: ErrInvalidToken},
		{name: "claims with a comment", token: editRaw("{", "{/* admin */"), want: ErrInvalidToken},
		{name: "claims with a NUL after the object", token: rawClaims(claimsRaw + "\x00"), want: ErrInvalidToken},
		{name: "claims twice", token: rawClaims(claimsRaw + claimsRaw), want: ErrInvalidToken},

		// Encoding and size.
		{name: "padded segments", token: strings.ReplaceAll(valid, ".", "=."), want: ErrInvalidToken},
		{name: "newline inside", token: valid[:10] + "\n" + valid[10:], want: ErrInvalidToken},
		{name: "leading space", token: " " + valid, want: ErrInvalidToken},
		{name: "trailing newline", token: valid + "\n", want: ErrInvalidToken},
		{name: "with the Bearer prefix", token: "Bearer " + valid, want: ErrInvalidToken},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(tokOfAlphabet(t)), want: ErrInvalidToken},
		{name: "4096 bytes, otherwise valid", token: tokOfLength(t, MaxTokenBytes)},
		{name: "4097 bytes, otherwise valid", token: tokOfLength(t, MaxTokenBytes+1), want: ErrInvalidToken},

		// Garbage.
		{name: "empty", token: "", want: ErrInvalidToken},
		{name: "one dot", token: ".", want: ErrInvalidToken},
		{name: "two dots", token: "..", want: ErrInvalidToken},
		{name: "three dots", token: "...", want: ErrInvalidToken},
		{name: "three short segments", token: "a.b.c", want: ErrInvalidToken},
		{name: "one word", token: "token", want: ErrInvalidToken},
		{name: "JSON", token: `{"alg":"none"}`, want: ErrInvalidToken},
		{name: "non-ASCII", token: "é.ü.ß", want: ErrInvalidToken},
		{name: "NUL bytes", token: "\x00.\x00.\x00", want: ErrInvalidToken},
		{name: "many dots", token: strings.Repeat(".", 1000), want: ErrInvalidToken},
		{name: "10000 bytes", token: strings.Repeat("a", 10000), want: ErrInvalidToken},
		{name: "header only", token: tokSeg(t, hdr), want: ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = tokNow()
			}
			got, err := ring.Verify(tt.token, now)
			checkVerifyErr(t, tt.token, err, tt.want)
			if err != nil {
				t.Log(err) // the reason, for -v
				if got != (AccessClaims{}) {
					t.Errorf("Verify returned claims %+v with error %v", got, err)
				}
				return
			}
			if got.PlayerID != uuid.MustParse(tokPlayerID) || got.SessionID != uuid.MustParse(tokSessionID) || got.ID != tokTokenID {
				t.Errorf("Verify = %+v, want the crafted IDs", got)
			}
		})
	}
}

// tokOfAlphabet is a valid token that uses '-' or '_' somewhere, so that
// translating it to the standard alphabet changes it.
func tokOfAlphabet(t testing.TB) string {
	t.Helper()
	for i := range 1000 {
		tok := tokCraft(t, tokHeader(tokKeyA), tokWith(tokClaims(), "name", strings.Repeat("o", i+1)), tokKeyA)
		if strings.ContainsAny(tok, "-_") {
			return tok
		}
	}
	t.Fatal("no token with - or _")
	return ""
}

// TestVerifyValidClaims checks the claims Verify returns for a crafted
// token, and that they are in UTC.
func TestVerifyValidClaims(t *testing.T) {
	ring := tokRing(t)
	got, err := ring.Verify(tokCraft(t, tokHeader(tokKeyA), tokClaims(), tokKeyA), tokNow())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(tokWantClaims(), got); diff != "" {
		t.Errorf("Verify claims mismatch (-want +got):\n%s", diff)
	}
	if got.IssuedAt.Location() != time.UTC || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("Verify times in %v and %v, want UTC", got.IssuedAt.Location(), got.ExpiresAt.Location())
	}
}

// TestSignVerifyRoundTrip signs claims and verifies them back.
func TestSignVerifyRoundTrip(t *testing.T) {
	ring := tokRing(t)
	iat := tokNow().Add(-1500 * time.Millisecond) // truncated to whole seconds
	in := AccessClaims{
		PlayerID:  uuid.New(),
		SessionID: uuid.New(),
		Username:  "quiet-heron",
		IssuedAt:  iat,
		ExpiresAt: iat.Add(time.Hour),
	}
	tok, err := ring.Sign(in)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	got, err := ring.Verify(tok, tokNow())
	if err != nil {
		t.Fatalf("Verify(Sign(c)): %v", err)
	}
	if _, err := uuid.Parse(got.ID); err != nil || got.ID == "" {
		t.Errorf("generated ID = %q, want a UUID", got.ID)
	}
	want := in
	want.IssuedAt = time.Unix(iat.Unix(), 0).UTC()
	want.ExpiresAt = time.Unix(iat.Add(time.Hour).Unix(), 0).UTC()
	want.ID = got.ID
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify(Sign(c)) mismatch (-want +got):\n%s", diff)
	}

	// A given ID is kept, and two tokens get different generated IDs.
	in.ID = "given-id"
	tok, err = ring.Sign(in)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if got, err := ring.Verify(tok, tokNow()); err != nil || got.ID != "given-id" {
		t.Errorf("Verify(Sign(ID given-id)) = %q, %v, want given-id", got.ID, err)
	}
	in.ID = ""
	tok2, err := ring.Sign(in)
	if err != nil {
		t.Fatal(err)
	}
	got2, err := ring.Verify(tok2, tokNow())
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID == got.ID {
		t.Errorf("two tokens share the generated ID %q", got.ID)
	}

	// And it expires when its exp is reached.
	if _, err := ring.Verify(tok2, want.ExpiresAt); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("Verify at exp = %v, want ErrTokenExpired", err)
	}
}

// TestSignTokenShape checks the exact header and claim JSON Sign writes:
// another implementation (the JS client, a second gateway) reads them.
func TestSignTokenShape(t *testing.T) {
	ring := tokRing(t)
	c := tokWantClaims()
	tok, err := ring.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("Sign = %d segments, want 3", len(parts))
	}
	decode := func(seg string) map[string]any {
		b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
		if err != nil {
			t.Fatalf("segment not base64url: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("segment not a JSON object: %v", err)
		}
		return m
	}
	wantHeader := map[string]any{"alg": "HS256", "typ": "JWT", "kid": tokKID(tokKeyA)}
	if diff := cmp.Diff(wantHeader, decode(parts[0])); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
	wantClaims := map[string]any{
		"sub": tokPlayerID, "sid": tokSessionID, "name": tokUsername,
		"iat": float64(tokValidIssAt), "exp": float64(tokValidExpAt),
		"iss": "bigtwo-gateway", "aud": "bigtwo", "jti": tokTokenID,
	}
	if diff := cmp.Diff(wantClaims, decode(parts[1])); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
	if want := tokMAC(sha256.New, tokKeyA, parts[0]+"."+parts[1]); parts[2] != want {
		t.Errorf("signature = %s, want HMAC-SHA256 with the active key %s", parts[2], want)
	}
}

// TestSignRefuses checks that Sign will not issue a token Verify refuses.
func TestSignRefuses(t *testing.T) {
	ring := tokRing(t)
	tests := []struct {
		name   string
		change func(*AccessClaims)
	}{
		{"zero IssuedAt", func(c *AccessClaims) { c.IssuedAt = time.Time{} }},
		{"zero ExpiresAt", func(c *AccessClaims) { c.ExpiresAt = time.Time{} }},
		{"ExpiresAt equal to IssuedAt", func(c *AccessClaims) { c.ExpiresAt = c.IssuedAt }},
		{"ExpiresAt within IssuedAt's second", func(c *AccessClaims) { c.ExpiresAt = c.IssuedAt.Add(999 * time.Millisecond) }},
		{"ExpiresAt before IssuedAt", func(c *AccessClaims) { c.ExpiresAt = c.IssuedAt.Add(-time.Hour) }},
		{"before 1970", func(c *AccessClaims) { c.IssuedAt = time.Unix(-100, 0) }},
		{"after year 9999", func(c *AccessClaims) { c.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"nil PlayerID", func(c *AccessClaims) { c.PlayerID = uuid.Nil }},
		{"nil SessionID", func(c *AccessClaims) { c.SessionID = uuid.Nil }},
		{"empty Username", func(c *AccessClaims) { c.Username = "" }},
		{"token over MaxTokenBytes", func(c *AccessClaims) { c.Username = strings.Repeat("x", MaxTokenBytes) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tokWantClaims()
			tt.change(&c)
			if tok, err := ring.Sign(c); err == nil {
				t.Errorf("Sign = %q, want an error", tok)
			}
		})
	}
}

// TestNewKeyRing checks key validation and the kid derivation.
func TestNewKeyRing(t *testing.T) {
	short := bytes.Repeat([]byte{'s'}, 31)
	tests := []struct {
		name    string
		active  []byte
		old     [][]byte
		wantErr string // substring naming the key; empty: success
	}{
		{name: "active only", active: []byte(tokKeyA)},
		{name: "exactly 32 bytes", active: bytes.Repeat([]byte{'k'}, 32)},
		{name: "with old keys", active: []byte(tokKeyA), old: [][]byte{[]byte(tokKeyB), []byte(tokKeyC)}},
		{name: "old key repeating the active one", active: []byte(tokKeyA), old: [][]byte{[]byte(tokKeyA)}},
		{name: "nil active", active: nil, wantErr: "active key"},
		{name: "short active", active: short, wantErr: "active key"},
		{name: "short first old key", active: []byte(tokKeyA), old: [][]byte{short}, wantErr: "old key 1"},
		{name: "short second old key", active: []byte(tokKeyA), old: [][]byte{[]byte(tokKeyB), short}, wantErr: "old key 2"},
		{name: "empty old key", active: []byte(tokKeyA), old: [][]byte{{}}, wantErr: "old key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKeyRing(tt.active, tt.old...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewKeyRing error = %v, want one naming %q", err, tt.wantErr)
				}
				if bytes.Contains([]byte(err.Error()), short) {
					t.Errorf("NewKeyRing error %q quotes the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKeyRing: %v", err)
			}
			if got, want := k.ActiveKID(), tokKID(string(tt.active)); got != want {
				t.Errorf("ActiveKID = %q, want %q", got, want)
			}
		})
	}
}

// TestKeyRingKIDStable checks that two rings (two processes) built from the
// same secret agree on its kid and accept each other's tokens.
func TestKeyRingKIDStable(t *testing.T) {
	k1, err := NewKeyRing([]byte(tokKeyA))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewKeyRing([]byte(tokKeyB), []byte(tokKeyA))
	if err != nil {
		t.Fatal(err)
	}
	k3, err := NewKeyRing([]byte(tokKeyA), []byte(tokKeyB))
	if err != nil {
		t.Fatal(err)
	}
	if k1.ActiveKID() != k3.ActiveKID() || len(k1.ActiveKID()) != 12 {
		t.Errorf("ActiveKID = %q and %q, want the same 12 hex digits", k1.ActiveKID(), k3.ActiveKID())
	}
	tok, err := k1.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*KeyRing{"same active key": k3, "as an old key": k2} {
		if _, err := k.Verify(tok, tokNow()); err != nil {
			t.Errorf("%s: Verify = %v, want success", name, err)
		}
	}
}

// TestKeyRingRotation follows one token through a key rotation: accepted
// while its key is in the ring (active, then old), refused once dropped.
func TestKeyRingRotation(t *testing.T) {
	before, err := NewKeyRing([]byte(tokKeyA))
	if err != nil {
		t.Fatal(err)
	}
	during, err := NewKeyRing([]byte(tokKeyB), []byte(tokKeyA))
	if err != nil {
		t.Fatal(err)
	}
	after, err := NewKeyRing([]byte(tokKeyB))
	if err != nil {
		t.Fatal(err)
	}
	oldTok, err := before.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	newTok, err := during.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		ring  *KeyRing
		token string
		want  error
	}{
		{"old token, old ring", before, oldTok, nil},
		{"old token, ring keeping the old key", during, oldTok, nil},
		{"old token, ring without the old key", after, oldTok, ErrInvalidToken},
		{"new token, ring with the new key", after, newTok, nil},
		{"new token, ring not yet rotated", before, newTok, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ring.Verify(tt.token, tokNow())
			checkVerifyErr(t, tt.token, err, tt.want)
		})
	}
}

// TestKeyRingCopiesKeys checks that the ring is immune to the caller
// reusing its key buffers.
func TestKeyRingCopiesKeys(t *testing.T) {
	active, old := []byte(tokKeyA), []byte(tokKeyB)
	k, err := NewKeyRing(active, old)
	if err != nil {
		t.Fatal(err)
	}
	tokOld := tokCraft(t, tokHeader(tokKeyB), tokClaims(), tokKeyB)
	clear(active)
	clear(old)
	tok, err := k.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	if want := tokMAC(sha256.New, tokKeyA, tok[:strings.LastIndex(tok, ".")]); !strings.HasSuffix(tok, "."+want) {
		t.Errorf("Sign after the caller cleared its key did not sign with the key given")
	}
	if _, err := k.Verify(tokOld, tokNow()); err != nil {
		t.Errorf("Verify(old key's token) after the caller cleared its key = %v", err)
	}
}

// TestRandomKeyRing checks that random rings work and differ.
func TestRandomKeyRing(t *testing.T) {
	k1, err := RandomKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := RandomKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	if k1.ActiveKID() == k2.ActiveKID() {
		t.Errorf("two random rings share the kid %q", k1.ActiveKID())
	}
	tok, err := k1.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k1.Verify(tok, tokNow()); err != nil {
		t.Errorf("Verify with the signing ring = %v", err)
	}
	if _, err := k2.Verify(tok, tokNow()); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify with another random ring = %v, want ErrInvalidToken", err)
	}
}

// TestKeyRingConcurrent signs and verifies from several goroutines (run
// with -race).
func TestKeyRingConcurrent(t *testing.T) {
	ring := tokRing(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				tok, err := ring.Sign(tokWantClaims())
				if err == nil {
					_, err = ring.Verify(tok, tokNow())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestVerifyAllocs checks that verifying a valid token allocates only the
// two strings it returns (name and jti): Verify runs on every socket's
// authentication, and its garbage is part of the gateway's memory per
// socket. Under -race, sync.Pool drops items at random, so the bound there
// only catches a return to hundreds of allocations.
func TestVerifyAllocs(t *testing.T) {
	ring := tokRing(t)
	tok, err := ring.Sign(tokWantClaims())
	if err != nil {
		t.Fatal(err)
	}
	now := tokNow()
	limit := 2.0
	if raceEnabled() {
		limit = 20
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ring.Verify(tok, now); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > limit {
		t.Errorf("Verify allocates %v times per token, want at most %v", allocs, limit)
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func BenchmarkSign(b *testing.B) {
	ring := tokRing(b)
	c := tokWantClaims()
	c.ID = ""
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ring := tokRing(b)
	tok, err := ring.Sign(tokWantClaims())
	if err != nil {
		b.Fatal(err)
	}
	now := tokNow()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBadSignature is the cost of refusing a forged token: the
// claims are never decoded.
func BenchmarkVerifyBadSignature(b *testing.B) {
	ring := tokRing(b)
	tok := tokCraft(b, tokHeader(tokKeyA), tokClaims(), tokKeyC)
	now := tokNow()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Verify(tok, now); !errors.Is(err, ErrInvalidToken) {
			b.Fatalf("Verify = %v, want ErrInvalidToken", err)
		}
	}
}
