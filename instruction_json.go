package muster

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the instruction's JSON to b: byte for byte what
// json.Marshal(in) writes (field order, omitempty and omitzero, times as
// time.Time.MarshalJSON, floats and HTML-safe string escapes as
// encoding/json), written by hand. The store encodes every new version it
// is handed, and json.Marshal's reflection took some 0.3 CPU-s of an
// issuance of 101,156 instructions; this allocates nothing beyond growing
// b. TestAppendJSONIsMarshal and FuzzAppendJSON hold it to json.Marshal.
//
// It fails where json.Marshal fails: a time whose year is outside
// [0,9999] or whose zone's offset is a day or more, a coordinate that is
// NaN or infinite. On error b is returned as it was given.
func (in *Instruction) AppendJSON(b []byte) ([]byte, error) {
	n0 := len(b)
	b, err := in.appendJSON(b)
	if err != nil {
		return b[:n0], err
	}
	return b, nil
}

func (in *Instruction) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = jsonString(b, in.ID)
	b = append(b, `,"series":`...)
	b = jsonString(b, in.Series)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(in.Version), 10)
	if in.Supersedes != "" {
		b = append(b, `,"supersedes":`...)
		b = jsonString(b, in.Supersedes)
	}
	b = append(b, `,"issued_at":`...)
	if b, err = jsonTime(b, in.IssuedAt, "issued_at"); err != nil {
		return b, err
	}
	b = append(b, `,"expires_at":`...)
	if b, err = jsonTime(b, in.ExpiresAt, "expires_at"); err != nil {
		return b, err
	}
	b = append(b, `,"plan":`...)
	b = jsonString(b, in.Plan)
	b = append(b, `,"plan_created_at":`...)
	if b, err = jsonTime(b, in.PlanCreatedAt, "plan_created_at"); err != nil {
		return b, err
	}
	b = append(b, `,"catalog":`...)
	b = jsonString(b, in.Catalog)
	b = append(b, `,"audience":`...)
	b = jsonString(b, in.Audience)
	if in.Household != "" {
		b = append(b, `,"household":`...)
		b = jsonString(b, in.Household)
	}
	b = append(b, `,"language":`...)
	b = jsonString(b, in.Language)
	if in.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonString(b, in.Name)
	}
	b = append(b, `,"time_zone":`...)
	b = jsonString(b, in.TimeZone)
	b = append(b, `,"rally_point":`...)
	if b, err = in.RallyPoint.appendJSON(b, "rally_point"); err != nil {
		return b, err
	}
	// omitzero: the zero Walk, as reflect sees it (Steps nil, not empty).
	if w := &in.Walk; w.DurationS != 0 || w.DistanceM != 0 || w.Escape || w.Steps != nil {
		b = append(b, `,"walk":{"duration_s":`...)
		b = strconv.AppendInt(b, int64(w.DurationS), 10)
		b = append(b, `,"distance_m":`...)
		b = strconv.AppendInt(b, int64(w.DistanceM), 10)
		if w.Escape {
			b = append(b, `,"escape":true`...)
		}
		if len(w.Steps) > 0 {
			b = append(b, `,"steps":[`...)
			for i := range w.Steps {
				s := &w.Steps[i]
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"maneuver":`...)
				b = jsonString(b, s.Maneuver)
				if s.Street != "" {
					b = append(b, `,"street":`...)
					b = jsonString(b, s.Street)
				}
				b = append(b, `,"distance_m":`...)
				b = strconv.AppendInt(b, int64(s.DistanceM), 10)
				b = append(b, `,"bearing":`...)
				b = strconv.AppendInt(b, int64(s.Bearing), 10)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `,"report_from":`...)
	if b, err = jsonTime(b, in.ReportFrom, "report_from"); err != nil {
		return b, err
	}
	b = append(b, `,"report_by":`...)
	if b, err = jsonTime(b, in.ReportBy, "report_by"); err != nil {
		return b, err
	}
	b = append(b, `,"group":`...)
	b = jsonString(b, in.Group)
	b = append(b, `,"group_code":`...)
	b = jsonString(b, in.GroupCode)
	b = append(b, `,"people":`...)
	b = strconv.AppendInt(b, int64(in.People), 10)
	b = append(b, `,"code_word":`...)
	b = jsonString(b, in.CodeWord)
	b = append(b, `,"bring":`...)
	b = jsonStrings(b, in.Bring)
	b = append(b, `,"do_not_bring":`...)
	b = jsonStrings(b, in.DoNotBring)
	if c := &in.Contact; c.Phone != "" || c.URL != "" {
		b = append(b, `,"contact":{`...)
		if c.Phone != "" {
			b = append(b, `"phone":`...)
			b = jsonString(b, c.Phone)
		}
		if c.URL != "" {
			if c.Phone != "" {
				b = append(b, ',')
			}
			b = append(b, `"url":`...)
			b = jsonString(b, c.URL)
		}
		b = append(b, '}')
	}
	if esc := in.Escort; esc != nil {
		b = append(b, `,"escort":{"gate":`...)
		if b, err = esc.Gate.appendJSON(b, "escort.gate"); err != nil {
			return b, err
		}
		b = append(b, `,"departure":`...)
		if b, err = jsonTime(b, esc.Departure, "escort.departure"); err != nil {
			return b, err
		}
		b = append(b, `,"arrival":`...)
		if b, err = jsonTime(b, esc.Arrival, "escort.arrival"); err != nil {
			return b, err
		}
		b = append(b, `,"through":`...)
		if b, err = jsonTime(b, esc.Through, "escort.through"); err != nil {
			return b, err
		}
		b = append(b, `,"households":`...)
		b = strconv.AppendInt(b, int64(esc.Households), 10)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendJSON appends the place as json.Marshal writes it; place names it
// in an error.
func (p *InstructionPlace) appendJSON(b []byte, place string) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = jsonString(b, p.ID)
	b = append(b, `,"name":`...)
	b = jsonString(b, p.Name)
	b = append(b, `,"lat":`...)
	if b, err = jsonFloat(b, p.Lat, place, "lat"); err != nil {
		return b, err
	}
	b = append(b, `,"lon":`...)
	if b, err = jsonFloat(b, p.Lon, place, "lon"); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// jsonTime appends t as time.Time.MarshalJSON writes it: quoted RFC 3339
// with nanoseconds, the same function (AppendText) and so the same
// refusals (a year outside [0,9999], a zone offset of 24 hours or more).
func jsonTime(b []byte, t time.Time, field string) ([]byte, error) {
	b = append(b, '"')
	out, err := t.AppendText(b)
	if err != nil {
		return b, errors.New("instruction JSON: " + field + ": " + err.Error())
	}
	return append(out, '"'), nil
}

// jsonFloat appends f as encoding/json writes a float64: like ES6's
// number to string, 'f' unless tiny or huge, the exponent unpadded. NaN
// and infinities are no JSON: an error, as json.Marshal's, naming the
// place and the coordinate (built only then: no allocation otherwise).
func jsonFloat(b []byte, f float64, place, coord string) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errors.New("instruction JSON: " + place + "." + coord + ": unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json cleans it up.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// jsonStrings appends a list of strings: null when nil (no omitempty),
// [] when empty.
func jsonStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonString(b, s)
	}
	return append(b, ']')
}

// jsonPlain holds the bytes a JSON string holds as they are: ASCII but
// the control characters, ", \ and the HTML-unsafe <, > and &.
var jsonPlain = func() (plain [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return plain
}()

// jsonHex are the digits of a \u escape.
const jsonHex = "0123456789abcdef"

// jsonString appends s quoted as encoding/json's default (HTML-safe)
// escaping writes it: " and \ escaped; \b \f \n \r \t by name and the
// other control characters as \u00XX; <, > and & as \u003c \u003e
// \u0026; U+2028 and U+2029 as \u2028 \u2029; each byte of invalid UTF-8
// as \ufffd.
func jsonString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
