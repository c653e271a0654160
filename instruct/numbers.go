package instruct

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	xmessage "golang.org/x/text/message"
	"golang.org/x/text/number"
)

// numbers writes numbers as a language does. What the digits, the decimal
// separator and the grouping are comes from golang.org/x/text (CLDR data);
// the small numbers an instruction is full of (minutes, metres, people,
// clock times) are then written by a table lookup, which renders 100,000
// instructions in a fraction of the time a message.Printer per number
// takes. Numbers of 1,000 and more, which group their digits, take the
// Printer.
type numbers struct {
	tag     language.Tag
	digits  [10]string
	decimal string
	ascii   bool // digits are 0-9: numbers need no mapping
}

func newNumbers(bcp47 string) (*numbers, error) {
	tag, err := language.Parse(bcp47)
	if err != nil {
		return nil, fmt.Errorf("numbers: %w", err)
	}
	n := &numbers{tag: tag}
	p := xmessage.NewPrinter(tag)
	for d := 0; d < 10; d++ {
		n.digits[d] = p.Sprint(number.Decimal(d))
	}
	n.ascii = n.digits == [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	// The decimal separator: what stands between the digits of 1.5.
	s := p.Sprint(number.Decimal(1.5, number.MinFractionDigits(1), number.MaxFractionDigits(1)))
	if !strings.HasPrefix(s, n.digits[1]) || !strings.HasSuffix(s, n.digits[5]) || len(s) <= len(n.digits[1])+len(n.digits[5]) {
		return nil, fmt.Errorf("numbers: cannot tell the decimal separator of %s from %q", bcp47, s)
	}
	n.decimal = s[len(n.digits[1]) : len(s)-len(n.digits[5])]
	return n, nil
}

// appendDigits appends the decimal digits of v (>= 0), at least width of them.
func (n *numbers) appendDigits(b []byte, v int, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, n.digits[0]...)
	}
	if n.ascii {
		return append(b, s...)
	}
	for _, c := range s {
		b = append(b, n.digits[c-'0']...)
	}
	return b
}

// Int writes a whole number.
func (n *numbers) Int(v int) string {
	if v < 0 || v >= 1000 {
		return xmessage.NewPrinter(n.tag).Sprint(number.Decimal(v))
	}
	return string(n.appendDigits(nil, v, 1))
}

// Tenths writes v rounded to one decimal place, with the decimal shown.
func (n *numbers) Tenths(v float64) string { return n.fixed(v, 1) }

// Coord writes a latitude or longitude with five decimals (about a metre).
func (n *numbers) Coord(v float64) string { return n.fixed(v, 5) }

// fixed writes v with exactly prec decimals, rounded as x/text rounds
// (from the exact binary value, ties to even: strconv does the same).
func (n *numbers) fixed(v float64, prec int) string {
	if v < 0 || v >= 1000 || math.IsNaN(v) || math.IsInf(v, 0) {
		return xmessage.NewPrinter(n.tag).Sprint(number.Decimal(v, number.MinFractionDigits(prec), number.MaxFractionDigits(prec)))
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if n.ascii {
		return s
	}
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' {
			b = append(b, n.decimal...)
		} else {
			b = append(b, n.digits[c-'0']...)
		}
	}
	return string(b)
}

// Clock appends a 24-hour time, hh:mm.
func (n *numbers) Clock(b []byte, hour, minute int) []byte {
	b = n.appendDigits(b, hour, 2)
	b = append(b, ':')
	return n.appendDigits(b, minute, 2)
}
