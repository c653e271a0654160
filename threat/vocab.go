// Package threat turns graded threat reports into the threat picture that
// routing and planning obey: zones with a risk, a level, a confidence and
// the reports for and against them, plus the status of every gate.
//
// Every rule (the likelihood vocabulary, the Admiralty weights, fusion,
// contradiction, decay and the routing policy) is written in this package
// as a table or a short function, and docs/threat-picture.md explains them
// to an operator.
package threat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LikelihoodWord is one row of the estimative vocabulary: a phrase, the
// probability muster uses for it (the middle of its band) and the band.
type LikelihoodWord struct {
	Phrase string
	P      float64
	Lo, Hi float64
	Origin string // where the phrase and its band come from
}

// Likelihoods is the vocabulary a report's likelihood may use. The ICD 203
// words carry the US Intelligence Community's bands; synonyms share the
// band of their word; phrases from real reporting get the band an analyst
// would read into them. Nothing outside this table is guessed.
var Likelihoods = []LikelihoodWord{
	{"almost no chance", 0.03, 0.01, 0.05, "ICD 203"},
	{"remote", 0.03, 0.01, 0.05, "ICD 203 synonym"},
	{"very unlikely", 0.125, 0.05, 0.20, "ICD 203"},
	{"highly improbable", 0.125, 0.05, 0.20, "ICD 203 synonym"},
	{"highly unlikely", 0.15, 0.10, 0.20, "UK PHIA yardstick"},
	{"unlikely", 0.325, 0.20, 0.45, "ICD 203"},
	{"improbable", 0.325, 0.20, 0.45, "ICD 203 synonym"},
	{"probably not", 0.325, 0.20, 0.45, "ICD 203 synonym"},
	{"roughly even chance", 0.50, 0.45, 0.55, "ICD 203"},
	{"roughly even odds", 0.50, 0.45, 0.55, "ICD 203 synonym"},
	{"even chance", 0.50, 0.45, 0.55, "ICD 203 synonym"},
	{"likely", 0.675, 0.55, 0.80, "ICD 203"},
	{"probable", 0.675, 0.55, 0.80, "ICD 203 synonym"},
	{"probably", 0.675, 0.55, 0.80, "ICD 203 synonym"},
	{"very likely", 0.875, 0.80, 0.95, "ICD 203"},
	{"highly probable", 0.875, 0.80, 0.95, "ICD 203 synonym"},
	{"highly likely", 0.85, 0.80, 0.90, "UK PHIA yardstick"},
	{"almost certain", 0.97, 0.95, 0.99, "ICD 203"},
	{"almost certainly", 0.97, 0.95, 0.99, "ICD 203 synonym"},
	{"nearly certain", 0.97, 0.95, 0.99, "ICD 203 synonym"},
	{"confirmed", 0.97, 0.95, 0.99, "reporting: read as almost certain"},
	{"realistic possibility", 0.45, 0.40, 0.50, "UK PHIA yardstick"},
	{"strong possibility", 0.70, 0.55, 0.80, "reporting: read as likely"},
	{"credible", 0.60, 0.55, 0.80, "reporting: a threat judged genuine, low end of likely"},
	{"possible", 0.35, 0.20, 0.55, "reporting: between unlikely and even chance"},
	{"possibly", 0.35, 0.20, 0.55, "reporting: between unlikely and even chance"},
	{"potential", 0.30, 0.20, 0.45, "reporting: a named but unestimated threat, read as unlikely"},
	{"cannot rule out", 0.15, 0.05, 0.30, "reporting: read as very unlikely to unlikely"},
	{"can not rule out", 0.15, 0.05, 0.30, "reporting: read as very unlikely to unlikely"},
	{"cannot be ruled out", 0.15, 0.05, 0.30, "reporting: read as very unlikely to unlikely"},
}

// immediacyWords are phrases that say when, not how likely: given as a
// likelihood they are an error that points at the immediacy field.
var immediacyWords = map[string]string{
	"imminent": "imminent", "immediate": "imminent", "near term": "near-term",
	"not immediate": "not-immediate", "not imminent": "not-immediate", "unknown": "unknown",
}

var likelihoodByPhrase = func() map[string]LikelihoodWord {
	m := make(map[string]LikelihoodWord, len(Likelihoods))
	for _, w := range Likelihoods {
		m[w.Phrase] = w
	}
	return m
}()

func normalizePhrase(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("-", " ", "_", " ", "’", "'").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// AcceptedLikelihoods returns the phrases of the vocabulary, for error
// messages and help.
func AcceptedLikelihoods() []string {
	out := make([]string, len(Likelihoods))
	for i, w := range Likelihoods {
		out[i] = w.Phrase
	}
	return out
}

// ParseLikelihood maps a likelihood as written (a phrase of the vocabulary,
// a number 0..1 or a percentage such as "70%") to a probability. Anything
// else is an error that lists the accepted words.
func ParseLikelihood(s string) (float64, error) {
	n := normalizePhrase(s)
	if w, ok := likelihoodByPhrase[n]; ok {
		return w.P, nil
	}
	if imm, ok := immediacyWords[n]; ok {
		return 0, fmt.Errorf("%q says when, not how likely: put %q in immediacy and an estimative word in likelihood", s, imm)
	}
	num := strings.TrimSpace(s)
	pct := strings.HasSuffix(num, "%")
	num = strings.TrimSuffix(num, "%")
	if v, err := strconv.ParseFloat(strings.TrimSpace(num), 64); err == nil && num != "" {
		if pct {
			v /= 100
		}
		return CheckProbability(v)
	}
	return 0, fmt.Errorf("%q is not an accepted likelihood: use a number 0..1 or one of: %s",
		s, strings.Join(AcceptedLikelihoods(), ", "))
}

// CheckProbability accepts a finite number in 0..1.
func CheckProbability(v float64) (float64, error) {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("%v is not a probability in 0..1", v)
	}
	return v, nil
}
