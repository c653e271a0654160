package muster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestAckCodeBoundary(t *testing.T) {
	// The accepted values are a whole number of millions: every code is
	// made by as many of them.
	accepted := new(big.Int).SetUint64(math.MaxUint64 - ackCodeRest)
	accepted.Add(accepted, big.NewInt(1))
	if new(big.Int).Mod(accepted, big.NewInt(1_000_000)).Sign() != 0 {
		t.Fatalf("%v accepted values are not a whole number of millions", accepted)
	}
	for _, c := range []struct {
		v    uint64
		code string
		ok   bool
	}{
		{0, "000000", true},
		{999_999, "999999", true},
		{1_000_042, "000042", true},
		{math.MaxUint64 - ackCodeRest, "999999", true},
		{math.MaxUint64 - ackCodeRest + 1, "", false},
		{math.MaxUint64, "", false},
	} {
		code, ok := ackCodeFrom(c.v)
		if code != c.code || ok != c.ok {
			t.Errorf("ackCodeFrom(%d) = %q, %v; want %q, %v", c.v, code, ok, c.code, c.ok)
		}
	}
}

func TestNewAckCode(t *testing.T) {
	six := regexp.MustCompile(`^[0-9]{6}$`)
	seen := map[string]bool{}
	first := map[byte]int{}
	const n = 10_000
	for range n {
		c := NewAckCode()
		if !six.MatchString(c) {
			t.Fatalf("code %q is not six digits", c)
		}
		seen[c] = true
		first[c[0]]++
	}
	// 10,000 draws of a million codes repeat about 50 times; every first
	// digit comes about 1,000 times (none at all: p < 10^-400).
	if len(seen) < n-200 {
		t.Errorf("%d distinct codes of %d", len(seen), n)
	}
	if len(first) != 10 {
		t.Errorf("first digits %v: want all ten", first)
	}
}

// messageKeyByFprintf is how MessageKey was first written: the keys of
// messages queued before must not change (a provider drops a message
// whose key it has seen; a changed key would send it twice).
func messageKeyByFprintf(householdID, instructionID string, version int, channel string) string {
	h := sha256.New()
	for _, s := range []string{"muster-message-v1", householdID, instructionID, strconv.Itoa(version), channel} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func TestMessageKeyUnchanged(t *testing.T) {
	long := strings.Repeat("x", 300) // past the stack buffer
	for _, c := range []struct {
		h, i string
		v    int
		ch   string
	}{
		{"H000042", "I-H000042", 1, "sms"},
		{"H1", "E-G12", 12, "email"},
		{"", "", 0, ""},
		{"H:1;", "I;:", -3, "webhook"},
		{"Ħ٣", "I-Ħ٣", math.MaxInt, "sms"},
		{long, long, math.MinInt, long},
	} {
		got, want := MessageKey(c.h, c.i, c.v, c.ch), messageKeyByFprintf(c.h, c.i, c.v, c.ch)
		if got != want {
			t.Errorf("MessageKey(%q, %q, %d, %q) = %s, want %s", c.h, c.i, c.v, c.ch, got, want)
		}
	}
	// A key of the first release, written down: the function it was made
	// with is not the only witness.
	if got := MessageKey("H000042", "I-H000042", 1, "sms"); got != "cad3f4dc36f148a222a102eca5d40cdc" {
		t.Errorf("MessageKey of H000042's first SMS = %s", got)
	}
}

func FuzzMessageKey(f *testing.F) {
	f.Add("H000042", "I-H000042", 1, "sms")
	f.Fuzz(func(t *testing.T, h, i string, v int, ch string) {
		if got, want := MessageKey(h, i, v, ch), messageKeyByFprintf(h, i, v, ch); got != want {
			t.Fatalf("MessageKey = %s, want %s", got, want)
		}
	})
}
