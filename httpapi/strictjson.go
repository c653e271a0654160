package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// maxJSONDepth bounds how deeply a request body may nest: no request
// needs more than a few levels, and the check below walks every level.
const maxJSONDepth = 64

// checkDuplicateKeys refuses a JSON document in which an object has the
// same key twice, or two keys that differ only by case: encoding/json
// takes the last silently, and matches struct fields regardless of case,
// so {"role":"viewer","Role":"admin"} would mean whatever the last says
// while a proxy or a log that reads the first sees another request.
// Syntax errors are left to the decoder, which reports them with their
// offset.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkJSON(dec, func() string { return "" }, 0); err != nil && err != errStopWalk {
		return err
	}
	return nil
}

var errStopWalk = errors.New("not JSON")

// walkJSON reads one value; path names it, built only for a message.
func walkJSON(dec *json.Decoder, path func() string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return errStopWalk
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errorf(muster.EINVALID, "request body: nested more than %d levels deep", maxJSONDepth)
	}
	switch d {
	case '{':
		keys := map[string]string{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return errStopWalk
			}
			key, ok := tok.(string)
			if !ok {
				return errStopWalk
			}
			folded := strings.ToLower(key)
			if prev, dup := keys[folded]; dup {
				where := "the body"
				if p := path(); p != "" {
					where = p
				}
				if prev == key {
					return errorf(muster.EINVALID, "request body: %s has the key %s twice (at byte %d): send each key once", where, echo(key), dec.InputOffset())
				}
				return errorf(muster.EINVALID, "request body: %s has the keys %s and %s, which differ only by case (at byte %d): send each key once", where, echo(prev), echo(key), dec.InputOffset())
			}
			keys[folded] = key
			if err := walkJSON(dec, func() string { return joinPath(path(), key) }, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, func() string { return fmt.Sprintf("%s[%d]", path(), i) }, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return errStopWalk
	}
	return nil
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// jsonKind names what a Go type is in JSON, for messages: never a Go type
// name.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	if t == reflect.TypeOf(time.Time{}) {
		return "a time as a string (RFC 3339, such as 2026-12-06T04:00:00Z)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string (base64)"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another kind of value"
}

// unmarshalMessage is a JSON decoding error as a client should read it:
// where and what, with no Go type in it.
func unmarshalMessage(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("the body is %s where %s is wanted", typ.Value, jsonKind(typ.Type))
		}
		return fmt.Sprintf("field %s: %s where %s is wanted (at byte %d)", field, typ.Value, jsonKind(typ.Type), typ.Offset)
	}
	return "invalid JSON"
}
