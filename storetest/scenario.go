package storetest

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/seal"
)

// The store depends on seal only through muster.Sealer.
var _ muster.Sealer = (*seal.Keyring)(nil)

// SealKeys returns the DataKeys the server uses (package seal) under a
// random master key.
func SealKeys() muster.DataKeys {
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	return seal.DataKeys(master)
}

// sharedDir finds ../shared beside the repository root (the directory
// holding go.mod), or "" when it is absent.
func sharedDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(shared); err == nil {
				return shared
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// importScenarioFile imports one evacuee list as the server does, checks
// that the store takes every row the reader accepted, imports it again
// (which must change nothing) and returns how many households it created.
func importScenarioFile(ctx context.Context, t *testing.T, s muster.Store, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	read, err := evacuees.Read(f, path, evacuees.Options{DefaultCountryCode: "+93"})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
	hs := read.Households()
	res, err := s.ImportHouseholds(ctx, hs, muster.ImportOptions{})
	if err != nil {
		t.Fatalf("%s: the store refused rows the reader accepted: %v", name, err)
	}
	if res.Created+res.Updated+res.Unchanged != len(hs) || res.Created == 0 {
		t.Fatalf("%s: %d rows read, import %+v", name, len(hs), res)
	}
	again, err := s.ImportHouseholds(ctx, hs, muster.ImportOptions{})
	if err != nil || again.Unchanged != len(hs) {
		t.Fatalf("%s: re-import changed something: %+v %v", name, again, err)
	}
	t.Logf("%s: %d good rows (%d bad) -> %d created, %d updated; re-import: %d unchanged", name, read.Good, read.Bad, res.Created, res.Updated, again.Unchanged)
	return res.Created
}

// testDrillImport imports the Porto Alegre drill's list of 8,000
// households, two pairs of which share a phone, into a store of its own.
func testDrillImport(t *testing.T, fresh Fresh) {
	shared := sharedDir()
	if shared == "" {
		t.Skip("../shared (the scenarios) is not beside the repository: drill import not tested")
	}
	ctx := muster.WithActor(context.Background(), "tester")
	s, err := fresh(t).Open(ctx, SealKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := importScenarioFile(ctx, t, s, filepath.Join(shared, "scenarios", "porto-alegre-drill", "evacuees.csv")); n != 8000 {
		t.Fatalf("%d households created from the drill's 8,000", n)
	}
}

// testScenarioImport imports the Kabul scenario's evacuee lists as the
// server will (package evacuees reads them, package seal encrypts), then
// imports them again: the second import must change nothing.
func testScenarioImport(t *testing.T, fresh Fresh) {
	shared := sharedDir()
	if shared == "" {
		t.Skip("../shared (the scenarios) is not beside the repository: scenario import not tested")
	}
	ctx := muster.WithActor(context.Background(), "tester")
	s, err := fresh(t).Open(ctx, SealKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	total := 0
	for _, name := range []string{"evacuees.csv", "evacuees-spreadsheet.csv", "evacuees-dirty.csv"} {
		total += importScenarioFile(ctx, t, s, filepath.Join(shared, "scenarios", "kabul-2021", name))
	}
	if n, err := s.CountHouseholds(ctx, muster.HouseholdFilter{}); err != nil || n != total {
		t.Fatalf("%d households stored, %d created: %v", n, total, err)
	}
	// A household read back is the one the reader made.
	f, err := os.Open(filepath.Join(shared, "scenarios", "kabul-2021", "evacuees.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read, err := evacuees.Read(f, "evacuees.csv", evacuees.Options{DefaultCountryCode: "+93"})
	if err != nil {
		t.Fatal(err)
	}
	want := read.Households()[1234]
	got, err := s.GetHousehold(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != want.Name || got.NameLocal != want.NameLocal || got.Phone != want.Phone || got.Lat != want.Lat || got.PartySize != want.PartySize {
		t.Fatalf("read back %+v\nwant %+v", got.Household, want)
	}
	byPhone, err := s.FindHouseholdsByPhone(ctx, want.Phone)
	if err != nil || len(byPhone) != 1 || byPhone[0].ID != want.ID {
		t.Fatalf("find by phone %s: %+v %v", want.Phone, byPhone, err)
	}
}
