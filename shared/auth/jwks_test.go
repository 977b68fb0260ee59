package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/todoevents/todo/shared/apperr"
)

// keyServer serves a JWKS of public keys, as Better Auth's
// /api/auth/jwks does, and counts how often it is fetched.
type keyServer struct {
	mu      sync.Mutex
	set     *jwkset.MemoryJWKSet
	fetches atomic.Int32
}

func (ks *keyServer) add(t *testing.T, kid string, public any) {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(public, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
	if err != nil {
		t.Fatal(err)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err := ks.set.KeyWrite(context.Background(), jwk); err != nil {
		t.Fatal(err)
	}
}

func (ks *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ks.fetches.Add(1)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	body, err := ks.set.JSONPublic(r.Context())
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func TestJWKSTokens(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := &keyServer{set: jwkset.NewMemoryStorage()}
	ks.add(t, "ed", edPub)
	ks.add(t, "ec", &ecKey.PublicKey)
	ks.add(t, "rsa", &rsaKey.PublicKey)
	srv := httptest.NewServer(ks)
	defer srv.Close()

	var fetchErrors atomic.Int32
	keys, err := JWKS(ctx, srv.URL, srv.Client(), func(string, error) { fetchErrors.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	const site = "https://app.example"
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	v := Verifier{Keys: keys, Issuer: site, Audience: site, Now: func() time.Time { return now }}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "iss": site, "aud": site, "exp": now.Add(15 * time.Minute).Unix(),
			"iat": now.Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pubBytes := []byte(edPub)
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"EdDSA (Better Auth's default)", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(nil)), true},
		{"ES256", sign(jwt.SigningMethodES256, "ec", ecKey, claims(nil)), true},
		{"RS256", sign(jwt.SigningMethodRS256, "rsa", rsaKey, claims(nil)), true},
		{"no kid: every key is tried", sign(jwt.SigningMethodEdDSA, "", edKey, claims(nil)), true},
		{"audience in a list", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) {
			c["aud"] = []string{"other", site}
		})), true},
		{"another issuer", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), false},
		{"no issuer", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { delete(c, "iss") })), false},
		{"another audience", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { c["aud"] = "other" })), false},
		{"no exp", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"expired", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"not valid yet", sign(jwt.SigningMethodEdDSA, "ed", edKey, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), false},
		{"signed by a stranger under a known kid", sign(jwt.SigningMethodEdDSA, "ed", otherKey, claims(nil)), false},
		{"a key of another type under the kid", sign(jwt.SigningMethodES256, "rsa", ecKey, claims(nil)), false},
		{"HS256 keyed with the public key", sign(jwt.SigningMethodHS256, "ed", pubBytes, claims(nil)), false},
		{"an algorithm not accepted", sign(jwt.SigningMethodES384, "ec", mustEC384(t), claims(nil)), false},
		{"alg none", sign(jwt.SigningMethodNone, "ed", jwt.UnsafeAllowNoneSignatureType, claims(nil)), false},
	} {
		sub, err := v.Verify(tc.token)
		if tc.ok && (err != nil || sub != "alice") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && apperr.CodeOf(err) != apperr.Unauthorized {
			t.Errorf("%s: accepted (%v)", tc.name, err)
		}
	}

	// A rotated-in key is fetched on first sight of its kid; a burst of
	// unknown kids after that is refused at once without refetching.
	before := ks.fetches.Load()
	ks.add(t, "ed-2", otherPub)
	if _, err := v.Verify(sign(jwt.SigningMethodEdDSA, "ed-2", otherKey, claims(nil))); err != nil {
		t.Fatalf("token of a new key: %v", err)
	}
	if got := ks.fetches.Load(); got != before+1 {
		t.Fatalf("%d fetches for a new key, want 1", got-before)
	}
	start := time.Now()
	for i := range 20 {
		if _, err := v.Verify(sign(jwt.SigningMethodEdDSA, "unknown-"+string(rune('a'+i)), otherKey, claims(nil))); err == nil {
			t.Fatal("a token of an unknown key was accepted")
		}
	}
	if got := ks.fetches.Load(); got != before+1 || time.Since(start) > 5*time.Second {
		t.Fatalf("unknown kids refetched the set %d times (want 0) or were held %v", got-before-1, time.Since(start))
	}
	if fetchErrors.Load() != 0 {
		t.Fatalf("%d fetch errors", fetchErrors.Load())
	}

	// With the secret too, HS256 tokens verify against the secret only.
	secret := []byte("0123456789abcdef0123456789abcdef")
	both := v
	both.Secret = secret
	if _, err := both.Verify(sign(jwt.SigningMethodHS256, "", secret, claims(nil))); err != nil {
		t.Fatalf("HS256 beside a JWKS: %v", err)
	}
	if _, err := both.Verify(sign(jwt.SigningMethodHS256, "ed", pubBytes, claims(nil))); err == nil {
		t.Fatal("HS256 keyed with the public key accepted beside a secret")
	}
}

func mustEC384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
