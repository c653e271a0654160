package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestGenerateAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := GenerateMasterKey(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	key, err := LoadMasterKey(path)
	if err != nil || len(key) != KeySize {
		t.Fatalf("LoadMasterKey: %d bytes, %v", len(key), err)
	}
	text, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(text), "# muster master key") || !strings.Contains(string(text), hex.EncodeToString(key)) {
		t.Errorf("key file:\n%s", text)
	}
	// The key works as a master key.
	wrapped, err := NewDataKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(key, wrapped); err != nil {
		t.Fatal(err)
	}

	err = GenerateMasterKey(path)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second GenerateMasterKey: %v", err)
	}
	again, _ := LoadMasterKey(path)
	if !bytes.Equal(again, key) {
		t.Error("the refused GenerateMasterKey changed the key")
	}
	path2 := filepath.Join(t.TempDir(), "other.key")
	if err := GenerateMasterKey(path2); err != nil {
		t.Fatal(err)
	}
	if other, _ := LoadMasterKey(path2); bytes.Equal(other, key) {
		t.Error("two generated keys are equal")
	}
	if err := GenerateMasterKey(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("GenerateMasterKey into a missing directory succeeded")
	}
}

func TestLoadMasterKeyFormats(t *testing.T) {
	key := bytes.Repeat([]byte{0xab, 0x01, 0xfe, 0x7f}, 8)
	cases := []struct {
		name, text, wantErr string
	}{
		{"hex", hex.EncodeToString(key), ""},
		{"upper hex with comments and CRLF", "# production key\r\n\r\n" + strings.ToUpper(hex.EncodeToString(key)) + "\r\n# end\r\n", ""},
		{"base64", base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(key), ""},
		{"empty", "", "no key in it"},
		{"comments only", "# nothing\n", "no key in it"},
		{"short hex", hex.EncodeToString(key)[:63], "63 hex digits, a master key is 64"},
		{"short base64", base64.StdEncoding.EncodeToString(key[:16]), "16 bytes, a master key is 32"},
		{"two keys", hex.EncodeToString(key) + "\n" + hex.EncodeToString(key) + "\n", "line 2: a second key line"},
		{"garbage", "correct horse battery staple", "neither hex nor base64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadMasterKey(path)
			if c.wantErr == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("got %x, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming the file and containing %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), c.text[:min(len(c.text), 20)]) && len(c.text) > 20 {
				t.Errorf("error quotes the key material: %v", err)
			}
		})
	}
}

func TestLoadMasterKeyFileChecks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	key := hex.EncodeToString(bytes.Repeat([]byte{5}, KeySize))
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		path := filepath.Join(dir, "k")
		_ = os.Remove(path)
		if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadMasterKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "k"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(filepath.Join(dir, "k")); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := LoadMasterKey(filepath.Join(dir, "missing")); err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadMasterKey(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestLoadMasterKeyFromEnvironment(t *testing.T) {
	key := bytes.Repeat([]byte{3}, KeySize)
	t.Setenv(EnvMasterKey, base64.StdEncoding.EncodeToString(key))
	got, err := LoadMasterKey("")
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("env: %x %v", got, err)
	}
	// A named file wins over the environment.
	path := filepath.Join(t.TempDir(), "k")
	other := bytes.Repeat([]byte{4}, KeySize)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadMasterKey(path); !bytes.Equal(got, other) {
		t.Error("the environment won over the named file")
	}
	t.Setenv(EnvMasterKey, "abc")
	if _, err := LoadMasterKey(""); err == nil || !strings.Contains(err.Error(), EnvMasterKey+": the key is 3 hex digits") {
		t.Errorf("bad env: %v", err)
	}
	t.Setenv(EnvMasterKey, "")
	if _, err := LoadMasterKey(""); err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Errorf("empty env: %v", err)
	}
}

func FuzzParseMasterKey(f *testing.F) {
	f.Add([]byte("# c\n" + strings.Repeat("ab", 32) + "\n"))
	f.Add([]byte(base64.StdEncoding.EncodeToString(make([]byte, 32))))
	f.Add([]byte("\n\n#"))
	f.Fuzz(func(t *testing.T, text []byte) {
		key, err := ParseMasterKey(text)
		if err == nil && len(key) != KeySize {
			t.Fatalf("accepted a %d-byte key", len(key))
		}
	})
}
