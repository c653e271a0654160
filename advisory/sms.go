package advisory

import (
	"strings"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
)

// SMSSegments is how many SMS segments an advisory's text message takes
// at the most: the headline and what to do, which CAP keeps short
// (MaxAdvisoryHeadlineRunes), cut with an ellipsis when they are longer.
const SMSSegments = 3

// SMS is an advisory's text message in one language: its headline and its
// instruction, in at most SMSSegments segments, counted as instructions'
// short forms are (instruct.MeasureSMS: GSM-7, or UCS-2 for Dari and
// Pashto).
func SMS(t *muster.AdvisoryText) string {
	s := oneLine(t.Headline)
	if ins := oneLine(t.Instruction); ins != "" {
		s += "\n" + ins
	}
	return instruct.CutSMS(s, SMSSegments)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
