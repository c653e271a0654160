package muster

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxIDBytes bounds an id given by an operator or a file: a report's, its
// source's, a source cluster's.
const MaxIDBytes = 200

// CheckText returns why s is not acceptable as text of at most maxBytes
// bytes, or nil: it must be valid UTF-8 and hold no control character but
// newline and tab. The reason reads after a field's name ("id: is not
// valid UTF-8"). Reports (package threat) and source grades share it.
func CheckText(s string, maxBytes int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if len(s) > maxBytes {
		return fmt.Errorf("is %d bytes long, more than %d", len(s), maxBytes)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fmt.Errorf("holds the control character %U", r)
		}
	}
	return nil
}
