//go:build unix

package httpapi

import "syscall"

// defaultMaxConns keeps the connections under the process's limit of open
// files (Go raises the soft limit to the hard one at start), with room for
// the database, the log and the listener: a flood of connections must
// never reach "accept: too many open files".
func defaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 1024
	}
	return int(min(max(rl.Cur, 256)-200, 8192))
}
