package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// hours is a daily opening window in a time zone. A window whose close is
// before its open runs past midnight; an empty one is always open.
type hours struct {
	always      bool
	open, close int // minutes after local midnight; close may be 1440
	loc         *time.Location
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, 24:00 for midnight)", s)
	}
	return hh*60 + mm, nil
}

func newHours(opens, closes string, loc *time.Location) (hours, error) {
	if opens == "" && closes == "" {
		return hours{always: true, loc: loc}, nil
	}
	if opens == "" {
		opens = "00:00"
	}
	if closes == "" {
		closes = "24:00"
	}
	o, err := parseClock(opens)
	if err != nil {
		return hours{}, fmt.Errorf("opens: %w", err)
	}
	c, err := parseClock(closes)
	if err != nil {
		return hours{}, fmt.Errorf("closes: %w", err)
	}
	if o == c || (o == 0 && c == 1440) {
		return hours{always: true, loc: loc}, nil
	}
	return hours{open: o, close: c, loc: loc}, nil
}

// window returns the open interval containing t, or the next one after it.
func (h hours) window(t time.Time) (from, to time.Time) {
	if h.always {
		return t, t.Add(100 * 365 * 24 * time.Hour)
	}
	lt := t.In(h.loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, h.loc)
	for d := -1; d <= 2; d++ {
		base := day.AddDate(0, 0, d)
		from = base.Add(time.Duration(h.open) * time.Minute)
		closeAt := h.close
		if h.close <= h.open {
			closeAt += 1440 // runs past midnight
		}
		to = base.Add(time.Duration(closeAt) * time.Minute)
		if to.After(t) {
			if from.Before(t) {
				from = t
			}
			return from, to
		}
	}
	return t, t // unreachable: some window of the next days ends after t
}

// fit returns the earliest start >= t at which an activity of length d
// lies wholly inside an open window.
func (h hours) fit(t time.Time, d time.Duration) time.Time {
	for i := 0; i < 400; i++ {
		from, to := h.window(t)
		if !from.Add(d).After(to) {
			return from
		}
		t = to.Add(time.Second)
	}
	return t
}
