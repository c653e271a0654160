package plancheck

// Without returns in with the given rules silenced, so that a test can
// show a mutation is caught by that rule and by no other.
func Without(in Inputs, rules ...string) Inputs {
	in.disabled = map[string]bool{}
	for _, r := range rules {
		in.disabled[r] = true
	}
	return in
}
