package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

func TestTokenCacheVersions(t *testing.T) {
	tc := &tokenCache{m: map[string]cachedToken{}, version: -1}
	now := time.Now()
	tok, u := muster.Token{ID: "t1"}, muster.User{Name: "amina"}
	h := []byte("hash-1")

	tc.get(h, 1, now) // a lookup reads the version first, then puts
	tc.put(h, 1, tok, u, now)
	if got, _, ok := tc.get(h, 1, now); !ok || got.ID != "t1" {
		t.Fatalf("entry read under version 1 not found under version 1: %v", ok)
	}
	// The version moved (a revocation somewhere): everything goes.
	if _, _, ok := tc.get(h, 2, now); ok {
		t.Fatal("entry survived a version change")
	}
	if _, _, ok := tc.get(h, 2, now); ok {
		t.Fatal("entry came back after a version change")
	}
	// A lookup that started under version 2 ends after the version became
	// 3: its answer may predate the change and must not be served under 3.
	if _, _, ok := tc.get(h, 3, now); ok {
		t.Fatal("unexpected entry")
	}
	tc.put(h, 2, tok, u, now)
	if _, _, ok := tc.get(h, 3, now); ok {
		t.Fatal("an answer read under an older version is served under the newer one")
	}
	if len(tc.m) != 0 {
		t.Fatal("an answer read under an older version was kept")
	}
	// Entries die after the TTL, and a clock that went back does not
	// make them immortal.
	tc.put(h, 3, tok, u, now)
	if _, _, ok := tc.get(h, 3, now.Add(tokenCacheTTL)); ok {
		t.Fatal("entry outlived its TTL")
	}
	tc.put(h, 3, tok, u, now)
	if _, _, ok := tc.get(h, 3, now.Add(-time.Second)); ok {
		t.Fatal("entry read in the future served")
	}
	// Bounded.
	for i := range 2 * tokenCacheSize {
		tc.put([]byte(fmt.Sprint(i)), 3, tok, u, now)
	}
	if len(tc.m) > tokenCacheSize {
		t.Fatalf("cache grew to %d entries, bound %d", len(tc.m), tokenCacheSize)
	}
	// Off for good after a failed bump.
	tc.disable()
	tc.put(h, 3, tok, u, now)
	if _, _, ok := tc.get(h, 3, now); ok {
		t.Fatal("disabled cache answered")
	}
}
