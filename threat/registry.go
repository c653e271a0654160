package threat

import "github.com/muster-evac/muster"

// Sources is the source registry as fusion reads it: source id -> the
// analysts' grade. A report whose source is registered takes the
// registry's reliability (when set) instead of its own, counts under the
// source's cluster, and does not count at all if the source is hostile.
type Sources map[string]muster.SourceGrade

// NewSources indexes a registry listing by source id; a later entry for
// an id replaces an earlier one.
func NewSources(list []muster.SourceGrade) Sources {
	s := make(Sources, len(list))
	for _, g := range list {
		s[g.ID] = g
	}
	return s
}

// Option changes how a picture is built.
type Option func(*options)

type options struct {
	sources Sources
}

// WithSources makes fusion read the source registry.
func WithSources(s Sources) Option { return func(o *options) { o.sources = s } }
