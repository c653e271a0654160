package instruct

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// windowStep is how much a report-by window shrinks at a time when early
// arrivals would not fit.
const windowStep = 5 * time.Minute

// reportWindows decides, for every group, from when its households may
// arrive at the rally point: up to window before its report-by time, but
// never before the operation starts, never before the rally point opens,
// and never so early that the people there at once (the earlier groups'
// windows included, until each departs) would exceed its capacity. The
// plan keeps capacity from each group's report-by time to its departure;
// a window only adds people earlier, so it is checked against the groups
// already given theirs, the earliest first.
func reportWindows(p *plan.Plan, loc *time.Location, window time.Duration) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(p.Groups))
	byRally := map[string][]*plan.Group{}
	for i := range p.Groups {
		g := &p.Groups[i]
		byRally[g.RallyPoint] = append(byRally[g.RallyPoint], g)
	}
	for i := range p.RallyPoints {
		r := &p.RallyPoints[i]
		groups := byRally[r.ID]
		slices.SortFunc(groups, func(a, b *plan.Group) int {
			return cmp.Or(a.ReportBy.Compare(b.ReportBy), cmp.Compare(a.ID, b.ID))
		})
		opens, err := openingHours(r.Opens, r.Closes)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "instructions: rally point %s: %v", r.ID, err)
		}
		// from of every group at the rally point: its report-by time until
		// it has a window.
		from := make(map[string]time.Time, len(groups))
		for _, g := range groups {
			from[g.ID] = g.ReportBy
		}
		for _, g := range groups {
			for w := window; w >= 0; w -= windowStep {
				c := g.ReportBy.Add(-w)
				if c.Before(p.Params.Start) {
					continue
				}
				if o, ok := opens.openSince(g.ReportBy, loc); ok && c.Before(o) {
					continue
				}
				if r.Capacity > 0 && peak(groups, from, g, c) > r.Capacity {
					continue
				}
				from[g.ID] = c
				break
			}
		}
		for id, t := range from {
			out[id] = t
		}
	}
	for i := range p.Groups { // a group at a rally point the plan does not list: no window
		if _, ok := out[p.Groups[i].ID]; !ok {
			out[p.Groups[i].ID] = p.Groups[i].ReportBy
		}
	}
	return out, nil
}

// peak is the most people at the rally point at once between c and g's
// report-by time, if g's households were there from c.
func peak(groups []*plan.Group, from map[string]time.Time, g *plan.Group, c time.Time) int {
	at := func(t time.Time) int {
		n := g.People
		for _, o := range groups {
			if o != g && !from[o.ID].After(t) && o.Departure.After(t) {
				n += o.People
			}
		}
		return n
	}
	most := at(c)
	for _, o := range groups {
		if f := from[o.ID]; o != g && f.After(c) && f.Before(g.ReportBy) {
			most = max(most, at(f))
		}
	}
	return most
}

// hoursOfDay is a rally point's daily opening, in minutes after local
// midnight; a close at or before the opening runs past midnight.
type hoursOfDay struct {
	always      bool
	open, close int
}

func openingHours(opens, closes string) (hoursOfDay, error) {
	if opens == "" && closes == "" {
		return hoursOfDay{always: true}, nil
	}
	parse := func(s, def string) (int, error) {
		if s == "" {
			s = def
		}
		h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
			return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
		}
		return hh*60 + mm, nil
	}
	o, err := parse(opens, "00:00")
	if err != nil {
		return hoursOfDay{}, fmt.Errorf("opens: %w", err)
	}
	c, err := parse(closes, "24:00")
	if err != nil {
		return hoursOfDay{}, fmt.Errorf("closes: %w", err)
	}
	if o == c || o == 0 && c == 1440 {
		return hoursOfDay{always: true}, nil
	}
	return hoursOfDay{open: o, close: c}, nil
}

// openSince returns when the opening that holds t began; false when the
// rally point never closes (or t falls in no opening: the plan would not
// have sent anyone then).
func (h hoursOfDay) openSince(t time.Time, loc *time.Location) (time.Time, bool) {
	if h.always {
		return time.Time{}, false
	}
	lt := t.In(loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	for d := 0; d >= -1; d-- {
		base := day.AddDate(0, 0, d)
		from := base.Add(time.Duration(h.open) * time.Minute)
		closeAt := h.close
		if h.close <= h.open {
			closeAt += 1440
		}
		to := base.Add(time.Duration(closeAt) * time.Minute)
		if !from.After(t) && !t.After(to) {
			return from, true
		}
	}
	return time.Time{}, false
}
