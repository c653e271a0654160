//go:build !unix

package httpapi

func defaultMaxConns() int { return 1024 }
