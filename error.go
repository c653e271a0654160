package muster

import (
	"errors"
	"fmt"
)

// Application error codes. Every layer maps them: the CLI prints the message,
// the HTTP layer turns the code into a status.
const (
	EINVALID      = "invalid"      // bad input: the message says where and why
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // it exists already, or changed under us
	EUNAUTHORIZED = "unauthorized" // who you are is not known
	EFORBIDDEN    = "forbidden"    // who you are may not do this
	EUNREACHABLE  = "unreachable"  // no way exists under the current threat picture
	EINTERNAL     = "internal"     // our fault
)

// Error is an application error: a code for machines, a message for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
