package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// EnvMasterKey is the environment variable LoadMasterKey reads when no key
// file is named.
const EnvMasterKey = "MUSTER_MASTER_KEY"

// maxKeyFile bounds what LoadMasterKey reads: a key file is one line and a
// comment or two.
const maxKeyFile = 4 << 10

// LoadMasterKey reads the master key from the file at path, or from
// MUSTER_MASTER_KEY when path is "". It refuses a file others may read.
func LoadMasterKey(path string) ([]byte, error) {
	if path == "" {
		v, ok := os.LookupEnv(EnvMasterKey)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("no master key: name a key file or set %s", EnvMasterKey)
		}
		key, err := ParseMasterKey([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMasterKey, err)
		}
		return key, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("master key file %s may be read or changed by other users (mode %04o); refusing to use it: run chmod 600 %s", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	if len(text) > maxKeyFile {
		return nil, fmt.Errorf("master key file %s is larger than %d bytes: not a key file", path, maxKeyFile)
	}
	key, err := ParseMasterKey(text)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// ParseMasterKey reads the key file format: one line of 64 hex digits or
// base64 of 32 bytes; blank lines and '#' comments ignored. Errors never
// quote the key material.
func ParseMasterKey(text []byte) ([]byte, error) {
	var keyLine string
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if keyLine != "" {
			return nil, fmt.Errorf("line %d: a second key line; a key file holds one key", i+1)
		}
		keyLine = line
	}
	if keyLine == "" {
		return nil, errors.New("no key in it (only blank lines or comments)")
	}
	if len(keyLine) == 2*KeySize {
		if key, err := hex.DecodeString(keyLine); err == nil {
			return key, nil
		}
	}
	// Anything that looks like hex is hex: a hex key one digit short must
	// not pass for base64 of another key.
	if isHex(keyLine) {
		return nil, fmt.Errorf("the key is %d hex digits, a master key is 64", len(keyLine))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding.Strict(), base64.RawStdEncoding.Strict(), base64.URLEncoding.Strict(), base64.RawURLEncoding.Strict()} {
		key, err := enc.DecodeString(keyLine)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("the key is %d bytes, a master key is %d (64 hex digits or 44 base64 characters)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("the key (%d characters) is neither hex nor base64", len(keyLine))
}

func isHex(s string) bool {
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// GenerateMasterKey writes a new random master key to path, readable by its
// owner only (0600). It never overwrites a file: replacing a master key
// makes every database wrapped under it unreadable.
func GenerateMasterKey(path string) error {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# muster master key, made %s.\n", time.Now().UTC().Format(time.RFC3339))
	b.WriteString("# Keep it secret and keep a copy offline: without it the personal data in the\n")
	b.WriteString("# database cannot be read by anyone, including you.\n")
	b.WriteString(hex.EncodeToString(key) + "\n")

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("master key file %s exists already; refusing to overwrite a master key", path)
	}
	if err != nil {
		return fmt.Errorf("creating master key file: %w", err)
	}
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Chmod(0o600) // whatever the umask did, owner only
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("writing master key file %s: %w", path, err)
	}
	// Make the new name durable too; not every system can sync a directory.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return nil
}
