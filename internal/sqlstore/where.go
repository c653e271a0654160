package sqlstore

import "strings"

// where builds a WHERE clause from a listing's filters: the instruction,
// outbox and check-in listings each filter on a few columns, most of them
// only when the caller gave a value.
type where struct {
	conds []string
	args  []any
}

// add adds a condition with its arguments.
func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// eq adds "col = v" unless v is empty (no filter on col).
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

// String is the clause, "1 = 1" when there is no condition.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(w.conds, " AND ")
}
