package plan

// Diff says what a re-plan changes for whom, and why.
type Diff struct {
	Basis   string   `json:"basis"` // the plan it revises (its created_at)
	Changes []Change `json:"changes"`
	Kept    int      `json:"kept"` // households whose instruction stays as it was
}

// Change is one household whose instruction changes.
type Change struct {
	Household string   `json:"household"`
	Fields    []string `json:"fields"` // rally_point, group, gate, departure, route, unassigned
	Reason    string   `json:"reason"`
}
