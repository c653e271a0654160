//go:build !linux

package sqlite

import "os"

// startWriteback writes f's dirty pages to disk and waits for them: where
// there is no sync_file_range, in the writeback goroutine, not the
// writer's.
func startWriteback(f *os.File) error { return f.Sync() }
