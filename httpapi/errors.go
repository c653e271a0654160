package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// Error codes the HTTP layer adds to muster's own.
const (
	codeTooLarge    = "too_large"    // 413: the body is over the limit
	codeRateLimited = "rate_limited" // 429: slow down
	codeMethod      = "method_not_allowed"
	codeGone        = "gone"
	codeUnavailable = "unavailable" // 503: the database is not reachable
	codeTimeout     = "timeout"     // 408: the request body stopped coming
)

// errorBody is the one shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details carries structured reasons (rejected rows of an import).
	Details any `json:"details,omitempty"`
}

// statusOf maps a muster error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case muster.EINVALID:
		return http.StatusBadRequest
	case muster.ENOTFOUND:
		return http.StatusNotFound
	case muster.ECONFLICT:
		return http.StatusConflict
	case muster.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case muster.EFORBIDDEN:
		return http.StatusForbidden
	case muster.EUNREACHABLE:
		return http.StatusUnprocessableEntity
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeRateLimited:
		return http.StatusTooManyRequests
	case codeMethod:
		return http.StatusMethodNotAllowed
	case codeGone:
		return http.StatusGone
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// apiError is an error with a code the HTTP layer knows and optional
// structured details.
type apiError struct {
	code    string
	message string
	details any
	// retryAfter, for a 429, is when to try again (Retry-After); one
	// second when not set.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{code: code, message: fmt.Sprintf(format, args...)}
}

// writeError writes err as the JSON error body with the status its code
// maps to. Internal errors are logged in full and answered with a generic
// message: their text may hold what a client must not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var me *muster.Error
	var mbe *http.MaxBytesError
	body := errorDetail{}
	switch {
	case errors.As(err, &ae):
		body.Code, body.Message, body.Details = ae.code, ae.message, ae.details
		if ae.code == codeRateLimited {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, retrySeconds(ae.retryAfter))))
		}
	case errors.As(err, &mbe):
		body.Code, body.Message = codeTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, errBodyStalled):
		body.Code, body.Message = codeTimeout, errBodyStalled.Error()
		w.Header().Set("Connection", "close")
	case errors.As(err, &me) && me.Code != muster.EINTERNAL:
		body.Code, body.Message = me.Code, me.Message
	default:
		body.Code, body.Message = muster.EINTERNAL, "internal error: the server's log says more"
		// The route pattern, not the path: a path may hold a capability
		// link's secret, and logs travel further than the database.
		s.log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	body.Message = capMessage(body.Message)
	status := statusOf(body.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="muster"`)
	}
	writeJSON(w, status, errorBody{Error: body})
}

// writeJSON writes v as the JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		slog.Error("encoding a response", "err", err)
		http.Error(w, `{"error":{"code":"internal","message":"encoding the response failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Personal data must not linger in a shared or browser cache.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decodeJSON decodes the request body into v strictly: an unknown field,
// a value of the wrong type, a second value or any trailing data is an
// EINVALID error saying where; a body over the limit is a 413.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(muster.EINVALID, "Content-Type %q: want application/json", ct)
	}
	// Read whole (bounded), so that the same bytes are checked for
	// duplicate keys and then decoded.
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxJSONBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errBodyStalled) {
			return err
		}
		return errorf(muster.EINVALID, "request body: could not be read: %v", err)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Anything but white space after the value is an error: a client that
	// sent two objects, or garbage, must not be half understood.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case err == nil:
		return errorf(muster.EINVALID, "request body: data after the JSON value (at byte %d)", dec.InputOffset()-int64(len(extra)))
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errBodyStalled) {
			return err
		}
		return errorf(muster.EINVALID, "request body: data after the JSON value (at byte %d)", dec.InputOffset())
	}
}

// jsonError turns a decoding error into a message that says where.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errBodyStalled):
		return err
	case errors.Is(err, io.EOF):
		return errorf(muster.EINVALID, "request body: empty, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(muster.EINVALID, "request body: the JSON ends too early")
	case errors.As(err, &syn), errors.As(err, &typ):
		return errorf(muster.EINVALID, "request body: %s", unmarshalMessage(err))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(muster.EINVALID, "request body: %s is not a field of this request", strings.TrimPrefix(err.Error(), "json: "))
	}
	var tpe *time.ParseError
	if errors.As(err, &tpe) {
		return errorf(muster.EINVALID, "request body: %s is not a time: want RFC 3339, such as 2026-12-06T04:00:00Z", echo(tpe.Value))
	}
	// Whatever else encoding/json says (a custom decoder's error) may name
	// Go types: say only where.
	return errorf(muster.EINVALID, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// maxMessage bounds an error message: one that quotes a client's 200 KB
// id whole would send it back, and into every log that keeps answers.
const maxMessage = 1024

func capMessage(m string) string {
	if len(m) <= maxMessage {
		return m
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes of message cut)", m[:cut], len(m)-cut)
}
