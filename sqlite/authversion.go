package sqlite

import (
	"fmt"
	"os"
)

// authVersion is the store's auth version (sqlstore.Dialect.AuthVersion)
// shared by every process that opens the database: the size of a file
// beside it, to which each process appends one byte after it commits a
// change to tokens or users. Reading it is one stat; appending is atomic
// (O_APPEND), so two processes bumping at once both count; the size never
// repeats while the file lives, and a removed file reads as an error, which
// turns the cache off until it is back.
type authVersion struct{ path string }

func newAuthVersion(dbPath string) (*authVersion, error) {
	a := &authVersion{path: dbPath + "-auth"}
	f, err := a.open()
	if err != nil {
		return nil, err
	}
	return a, f.Close()
}

func (a *authVersion) open() (*os.File, error) {
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auth version file: %w", err)
	}
	return f, nil
}

func (a *authVersion) version() (int64, error) {
	fi, err := os.Stat(a.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (a *authVersion) bump() error {
	f, err := a.open()
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte{'.'}); err != nil {
		f.Close()
		return fmt.Errorf("auth version file: %w", err)
	}
	return f.Close()
}
