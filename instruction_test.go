package muster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func sampleInstruction() Instruction {
	t0 := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	return Instruction{
		ID: "I-H000042/v2", Series: "I-H000042", Version: 2, Supersedes: "I-H000042/v1",
		IssuedAt: t0, ExpiresAt: t0.Add(20 * time.Hour), Plan: "plan-20210826T060000Z", PlanCreatedAt: t0.Add(-time.Minute),
		Catalog: "c0ffee", Audience: AudienceHousehold, Household: "H000042", Language: LangDari, Name: "Laila Ahmadi",
		TimeZone:   "Asia/Kabul",
		RallyPoint: InstructionPlace{ID: "rally-07", Name: "Bagh-e Bala Mosque", Lat: 34.5301, Lon: 69.1402},
		Walk: Walk{DurationS: 840, DistanceM: 1010, Steps: []WalkStep{
			{Maneuver: ManeuverDepart, Street: "Kocha-e Gul", DistanceM: 300, Bearing: 90},
			{Maneuver: ManeuverLeft, Street: "Jada-e Maiwand", DistanceM: 710, Bearing: 0},
			{Maneuver: ManeuverArrive}}},
		ReportFrom: t0.Add(40 * time.Minute), ReportBy: t0.Add(time.Hour),
		Group: "G0003", GroupCode: "K7F-42", People: 5, CodeWord: "pomegranate",
		Bring: []string{"documents", "water_food"}, DoNotBring: []string{"weapons"},
		Contact: Contact{Phone: "+93700000000", URL: "https://example.org/help"},
	}
}

// Every field, at any depth, takes part in the digest: changing any one
// changes it. The test walks the struct by reflection, so a field added
// later and forgotten in Canonical fails here.
func TestDigestCoversEveryField(t *testing.T) {
	base := sampleInstruction()
	base.Escort = &EscortBrief{Gate: InstructionPlace{ID: "gate-n", Name: "North Gate", Lat: 34.56, Lon: 69.21},
		Departure: base.ReportBy.Add(15 * time.Minute), Arrival: base.ReportBy.Add(time.Hour), Through: base.ReportBy.Add(80 * time.Minute), Households: 3}
	want := base.Digest()
	count := 0
	var visit func(path string, v reflect.Value)
	visit = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(time.Time{}) {
				old := v.Interface().(time.Time)
				v.Set(reflect.ValueOf(old.Add(time.Second)))
				check(t, &base, want, path)
				v.Set(reflect.ValueOf(old.Add(time.Nanosecond)))
				check(t, &base, want, path+" (ns)")
				v.Set(reflect.ValueOf(old))
				count++
				return
			}
			for i := 0; i < v.NumField(); i++ {
				visit(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Pointer:
			if v.IsNil() {
				t.Fatalf("%s: nil in the sample", path)
			}
			visit(path, v.Elem())
			old := v.Interface()
			v.Set(reflect.Zero(v.Type()))
			check(t, &base, want, path+" (nil)")
			v.Set(reflect.ValueOf(old))
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				visit(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
			old := v.Interface()
			v.Set(v.Slice(0, v.Len()-1))
			check(t, &base, want, path+" (shorter)")
			v.Set(reflect.ValueOf(old))
		case reflect.String:
			old := v.String()
			v.SetString(old + "x")
			check(t, &base, want, path)
			v.SetString(old)
			count++
		case reflect.Int:
			old := v.Int()
			v.SetInt(old + 1)
			check(t, &base, want, path)
			v.SetInt(old)
			count++
		case reflect.Float64:
			old := v.Float()
			v.SetFloat(old + 1e-9)
			check(t, &base, want, path)
			v.SetFloat(old)
			count++
		case reflect.Bool:
			v.SetBool(!v.Bool())
			check(t, &base, want, path)
			v.SetBool(!v.Bool())
			count++
		default:
			t.Fatalf("%s: kind %s not covered by this test", path, v.Kind())
		}
	}
	visit("Instruction", reflect.ValueOf(&base).Elem())
	if base.Digest() != want {
		t.Fatal("the test did not restore the instruction")
	}
	if count < 40 {
		t.Errorf("only %d leaf fields visited", count)
	}
}

func check(t *testing.T, in *Instruction, want [32]byte, path string) {
	t.Helper()
	if in.Digest() == want {
		t.Errorf("changing %s does not change the digest", path)
	}
}

// The digest is of content, not of its JSON: a round trip, another time
// zone, or an empty list for a nil one leave it as it was.
func TestDigestStableAcrossEncodings(t *testing.T) {
	in := sampleInstruction()
	want := in.Digest()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back Instruction
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Digest() != want {
		t.Errorf("JSON round trip changes the digest:\n%s", data)
	}
	kabul := time.FixedZone("AFT", 4*3600+1800)
	in.ReportBy = in.ReportBy.In(kabul)
	in.DoNotBring = nil
	in2 := sampleInstruction()
	in2.DoNotBring = []string{}
	if a, b := in.Digest(), in2.Digest(); a != b {
		t.Errorf("zone or nil-versus-empty changes the digest")
	}
	// Fields that differ only in where a string boundary falls must differ.
	a, b := sampleInstruction(), sampleInstruction()
	a.Bring, b.Bring = []string{"ab", "c"}, []string{"a", "bc"}
	if a.Digest() == b.Digest() {
		t.Errorf("the encoding is ambiguous: [ab c] and [a bc] digest alike")
	}
}

func TestChanged(t *testing.T) {
	old := sampleInstruction()
	same := sampleInstruction()
	same.ID, same.Version, same.Supersedes, same.IssuedAt, same.Plan = "I-H000042/v3", 3, "I-H000042/v2", same.IssuedAt.Add(time.Hour), "other"
	if ch := Changed(&old, &same); ch != nil {
		t.Errorf("a new version of the same content: changed %v", ch)
	}
	n := sampleInstruction()
	n.RallyPoint.ID = "rally-08"
	n.ReportBy = n.ReportBy.Add(10 * time.Minute)
	n.Walk.Steps[1].Street = "Jada-e Salang"
	n.CodeWord = "apple"
	want := []string{ChangedRallyPoint, ChangedWalk, ChangedTime, ChangedCodeWord}
	if got := Changed(&old, &n); !slices.Equal(got, want) {
		t.Errorf("Changed = %v, want %v", got, want)
	}
	e := sampleInstruction()
	e.Escort = &EscortBrief{Gate: InstructionPlace{ID: "gate-n"}}
	if got := Changed(&old, &e); !slices.Equal(got, []string{ChangedGate, ChangedSchedule}) {
		t.Errorf("an escort brief added: Changed = %v", got)
	}
	e2 := e
	e2.Escort = &EscortBrief{Gate: InstructionPlace{ID: "gate-n"}, Departure: time.Unix(1, 0)}
	if got := Changed(&e, &e2); !slices.Equal(got, []string{ChangedSchedule}) {
		t.Errorf("an escort's departure moved: Changed = %v", got)
	}
}

func TestInstructionIDs(t *testing.T) {
	if s := InstructionSeries(AudienceHousehold, "H000042"); s != "I-H000042" {
		t.Errorf("series %q", s)
	}
	if s := InstructionSeries(AudienceEscort, "G0003"); s != "E-G0003" {
		t.Errorf("escort series %q", s)
	}
	if id := InstructionID("I-H000042", 2); id != "I-H000042/v2" {
		t.Errorf("id %q", id)
	}
}

// TestDigestUnchanged: the canonical encoding, and so every digest, is
// what it was when tokens were first signed (the digests below are the
// first encoder's): a token issued before a change of the encoder must
// still match its instruction. Canonical and Digest agree.
func TestDigestUnchanged(t *testing.T) {
	in := sampleInstruction()
	check := func(what, want string) {
		t.Helper()
		d := in.Digest()
		if got := hex.EncodeToString(d[:]); got != want {
			t.Errorf("%s: digest %s, want %s", what, got, want)
		}
		if got := InstructionDigest(&in); got != want {
			t.Errorf("%s: InstructionDigest %s, want %s", what, got, want)
		}
		if sha256.Sum256(in.Canonical()) != d {
			t.Errorf("%s: Digest is not the hash of Canonical", what)
		}
	}
	check("household", "016d70c18c344ef74c442557a03c87b1edee68471f351fd3d01081f5cf12581e")
	in.Escort = &EscortBrief{Gate: InstructionPlace{ID: "gate-n", Name: "North Gate", Lat: 34.56, Lon: 69.21},
		Departure: in.ReportBy.Add(15 * time.Minute), Arrival: in.ReportBy.Add(time.Hour), Through: in.ReportBy.Add(80 * time.Minute), Households: 3}
	in.Walk.Escape = true
	check("escort", "3cf609feca92d5b54793e16bbca2bdb59f6d780ba4b25625fc1772fe9d2d2d7a")
	// Longer than the stack buffer Digest encodes into.
	for range 200 {
		in.Walk.Steps = append(in.Walk.Steps, WalkStep{Maneuver: ManeuverLeft, Street: "Jada-e Maiwand", DistanceM: 710})
	}
	if d := in.Digest(); sha256.Sum256(in.Canonical()) != d || len(in.Canonical()) <= 2048 {
		t.Errorf("a long instruction: Digest is not the hash of Canonical (%d bytes)", len(in.Canonical()))
	}
}
