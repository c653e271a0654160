package muster

import (
	"testing"
	"time"
)

func TestReportGradeAndStart(t *testing.T) {
	recv := time.Date(2021, 8, 16, 9, 0, 0, 0, time.UTC)
	r := Report{Reliability: "C", Credibility: 3, ReceivedAt: recv}
	if r.Grade() != "C3" {
		t.Errorf("grade %q", r.Grade())
	}
	if !r.Start().Equal(recv) {
		t.Errorf("without observed_at the fact starts when received: %v", r.Start())
	}
	r.ObservedAt = recv.Add(-21 * time.Hour)
	if !r.Start().Equal(r.ObservedAt) {
		t.Errorf("an earlier observation starts the fact: %v", r.Start())
	}
	r.ObservedAt = recv.Add(time.Hour)
	if !r.Start().Equal(recv) {
		t.Errorf("an observation after reception (clock skew) must not delay the fact: %v", r.Start())
	}
}
