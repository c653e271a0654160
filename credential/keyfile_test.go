package credential

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/seal"
)

func masterKey(b byte) []byte { return bytes.Repeat([]byte{b}, seal.KeySize) }

func TestKeyringFileKeepsPrivateKeysSealed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing-keys.json")
	kr := newKeyring(t, "kabul-2021")
	seed := kr.keys[0].priv.Seed()
	if err := CreateKeyringFile(path, kr, masterKey(1)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode %04o, want 0600", st.Mode().Perm())
	}
	text, _ := os.ReadFile(path)
	for _, enc := range []string{hex.EncodeToString(seed), base64.StdEncoding.EncodeToString(seed), base64.StdEncoding.EncodeToString(kr.keys[0].priv)} {
		if strings.Contains(string(text), enc) {
			t.Fatal("the private key is in the file in clear")
		}
	}
	if err := CreateKeyringFile(path, kr, masterKey(1)); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("creating over an existing keyring: %v", err)
	}

	// With the master key it signs, and what it signs verifies against the
	// original.
	got, wrapped, err := ReadKeyringFile(path, masterKey(1))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	tok := sign(t, got, realistic(now), now)
	if v := Verify(tok, kr.Bundle(nil, now), now); v.Status != Current {
		t.Fatalf("signed by the keyring read back: %v (%s)", v.Status, v.Reason)
	}
	// Rotate and save: the retired key is kept without its private part.
	if _, err := got.Rotate(now); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyringFile(path, got, masterKey(1), wrapped); err != nil {
		t.Fatal(err)
	}
	again, _, err := ReadKeyringFile(path, masterKey(1))
	if err != nil {
		t.Fatal(err)
	}
	keys := again.Keys()
	if len(keys) != 2 || again.keys[0].priv != nil || again.keys[1].priv == nil || !keys[0].RetiredAt.Equal(now) || again.MaxLifetime() != kr.MaxLifetime() {
		t.Fatalf("after rotation: %+v", keys)
	}
	if v := Verify(tok, again.Bundle(nil, now), now); v.Status != Current {
		t.Errorf("the first key's token after rotation: %v (%s)", v.Status, v.Reason)
	}

	// Without the master key it verifies but does not sign.
	pub, _, err := ReadKeyringFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub.CanSign() {
		t.Error("a keyring read without the master key can sign")
	}
	if v := Verify(tok, pub.Bundle(nil, now), now); v.Status != Current {
		t.Errorf("public keyring: %v (%s)", v.Status, v.Reason)
	}

	// Another master key opens nothing.
	if _, _, err := ReadKeyringFile(path, masterKey(2)); !errors.Is(err, seal.ErrWrongMasterKey) {
		t.Errorf("wrong master key: %v", err)
	}
}

func TestKeyringFileRefusesWhatItShould(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing-keys.json")
	kr := newKeyring(t, "kabul-2021")
	if err := CreateKeyringFile(path, kr, masterKey(1)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadKeyringFile(path, masterKey(1)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable keyring: %v", err)
	}
	os.Chmod(path, 0o600)
	text, _ := os.ReadFile(path)

	// A public key swapped for another deployment's: its id no longer
	// matches, and a matching id would not match the sealed private key.
	other := newKeyring(t, "kabul-2021")
	otherPub := base64.StdEncoding.EncodeToString(other.Active().Key)
	ourPub := base64.StdEncoding.EncodeToString(kr.Active().Key)
	swapped := strings.Replace(string(text), ourPub, otherPub, 1)
	os.WriteFile(path, []byte(swapped), 0o600)
	if _, _, err := ReadKeyringFile(path, masterKey(1)); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("swapped public key: %v", err)
	}
	swapped = strings.Replace(swapped, kr.Active().ID().String(), other.Active().ID().String(), 1)
	os.WriteFile(path, []byte(swapped), 0o600)
	if _, _, err := ReadKeyringFile(path, masterKey(1)); err == nil {
		t.Error("a public key swapped with its id: accepted")
	}
	for name, s := range map[string]string{
		"not JSON":     "{",
		"wrong format": strings.Replace(string(text), keyringFormat, "muster signing keys 9", 1),
		"no keys":      `{"format":"` + keyringFormat + `","deployment":"kabul-2021","keys":[]}`,
	} {
		os.WriteFile(path, []byte(s), 0o600)
		if _, _, err := ReadKeyringFile(path, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := ReadKeyringFile(filepath.Join(dir, "absent.json"), nil); err == nil {
		t.Error("a missing file: no error")
	}
}
