package muster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkAppendJSON asserts that AppendJSON writes exactly json.Marshal's
// bytes, appended after a prefix it leaves alone, and that the two fail
// together (leaving b as given).
func checkAppendJSON(t testing.TB, name string, in *Instruction) {
	t.Helper()
	want, wantErr := json.Marshal(in)
	prefix := []byte("prefix:")
	got, err := in.AppendJSON(prefix)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("%s: AppendJSON's error %v, json.Marshal's %v", name, err, wantErr)
	case err != nil:
		if string(got) != "prefix:" {
			t.Fatalf("%s: AppendJSON failed (%v) but returned %q, not b as given", name, err, got)
		}
	case !bytes.HasPrefix(got, []byte("prefix:")):
		t.Fatalf("%s: AppendJSON lost the bytes it was given: %q", name, got)
	case !bytes.Equal(got[len("prefix:"):], want):
		t.Fatalf("%s: AppendJSON and json.Marshal differ\nAppendJSON:   %s\njson.Marshal: %s", name, got[len("prefix:"):], want)
	}
}

// escapes holds every class of character encoding/json escapes: control
// characters (named and \u00XX), quote and backslash, the HTML-unsafe
// <, > and &, U+2028 and U+2029, and invalid UTF-8 (a lone byte, a
// truncated sequence, an encoded surrogate, an overlong form), between
// characters that pass as they are (DEL, U+FFFD itself, Dari, emoji).
const escapes = "a\x00\x01\x07\b\t\n\x0b\f\r\x1b\x1f \"\\/<>&'\x7f" +
	"\u2027\u2028\u2029\u202a\ufffd\xff\xfe\xd8\xed\xa0\x80\xc0\xaf" +
	"کابل\u200c\u200f😀z\xe2\x80"

func TestAppendJSONIsMarshal(t *testing.T) {
	kabul, err := time.LoadLocation("Asia/Kabul")
	if err != nil {
		kabul = time.FixedZone("+0430", 4*3600+1800)
	}
	escort := func() Instruction { // a new one each time: its brief is a pointer
		in := sampleInstruction()
		in.ID, in.Series, in.Version, in.Supersedes = "E-G0003/v1", "E-G0003", 1, ""
		in.Audience, in.Household, in.Name, in.Walk = AudienceEscort, "", "", Walk{}
		in.Escort = &EscortBrief{Gate: InstructionPlace{ID: "gate-n", Name: "North Gate", Lat: 34.56, Lon: 69.21},
			Departure: in.ReportBy.Add(15 * time.Minute), Arrival: in.ReportBy.Add(time.Hour),
			Through: in.ReportBy.Add(80 * time.Minute), Households: 3}
		return in
	}

	cases := map[string]func(in *Instruction){
		"household": func(in *Instruction) {},
		"escort":    func(in *Instruction) { *in = escort() },
		"zero":      func(in *Instruction) { *in = Instruction{} },
		"zero escort brief": func(in *Instruction) {
			*in = Instruction{Escort: &EscortBrief{}}
		},
		"nil lists":   func(in *Instruction) { in.Bring, in.DoNotBring = nil, nil },
		"empty lists": func(in *Instruction) { in.Bring, in.DoNotBring = []string{}, []string{} },
		"one of each": func(in *Instruction) { in.Bring, in.DoNotBring = []string{""}, nil },
		// omitzero sees a walk with an empty, non-nil list of steps as
		// not zero; omitempty drops the empty list.
		"walk with empty steps": func(in *Instruction) { in.Walk = Walk{Steps: []WalkStep{}} },
		"walk zero but escape":  func(in *Instruction) { in.Walk = Walk{Escape: true} },
		"walk duration only":    func(in *Instruction) { in.Walk = Walk{DurationS: 1} },
		"walk distance only":    func(in *Instruction) { in.Walk = Walk{DistanceM: -1} },
		"walk escape":           func(in *Instruction) { in.Walk.Escape = true },
		"walk zero step": func(in *Instruction) {
			in.Walk = Walk{Steps: []WalkStep{{}}}
		},
		"no walk":         func(in *Instruction) { in.Walk = Walk{} },
		"contact phone":   func(in *Instruction) { in.Contact.URL = "" },
		"contact url":     func(in *Instruction) { in.Contact.Phone = "" },
		"no contact":      func(in *Instruction) { in.Contact = Contact{} },
		"no supersedes":   func(in *Instruction) { in.Supersedes = "" },
		"no household id": func(in *Instruction) { in.Household = "" },
		"no name":         func(in *Instruction) { in.Name = "" },
		"dari": func(in *Instruction) {
			in.Name, in.Language = "لیلا احمدی", LangDari
			in.RallyPoint.Name = "مسجد باغ بالا"
			in.Walk.Steps[0].Street = "کوچه گل"
		},
		"pashto": func(in *Instruction) {
			in.Name, in.Language = "ملالۍ یوسفزۍ\u200c", LangPashto
			in.Walk.Steps[1].Street = "د میوند واټ"
		},
		"escapes everywhere": func(in *Instruction) {
			*in = escort()
			in.ID, in.Series, in.Supersedes, in.Plan, in.Catalog = escapes, escapes, escapes, escapes, escapes
			in.Audience, in.Household, in.Language, in.Name, in.TimeZone = escapes, escapes, escapes, escapes, escapes
			in.RallyPoint.ID, in.RallyPoint.Name = escapes, escapes
			in.Walk = Walk{Steps: []WalkStep{{Maneuver: escapes, Street: escapes}, {Maneuver: escapes}}}
			in.Group, in.GroupCode, in.CodeWord = escapes, escapes, escapes
			in.Bring, in.DoNotBring = []string{escapes, "", escapes}, []string{escapes}
			in.Contact = Contact{Phone: escapes, URL: escapes}
			in.Escort.Gate.ID, in.Escort.Gate.Name = escapes, escapes
		},
		"each escape alone": func(in *Instruction) {
			// Every byte value, once as a whole string and once inside one.
			var all []string
			for c := range 256 {
				all = append(all, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
			}
			in.Bring = all
		},
		"ints": func(in *Instruction) {
			in.Version, in.People = math.MaxInt, math.MinInt
			in.Walk.DurationS, in.Walk.DistanceM = -1, math.MinInt
			in.Walk.Steps[0].DistanceM, in.Walk.Steps[0].Bearing = math.MaxInt, -359
		},
		"times in other zones": func(in *Instruction) {
			in.IssuedAt = in.IssuedAt.In(kabul)
			in.ExpiresAt = in.ExpiresAt.In(time.FixedZone("", -(3*3600 + 30*60)))
			in.PlanCreatedAt = time.Date(2021, 8, 26, 6, 0, 0, 1, time.FixedZone("odd", 5*3600+30*60+17)) // seconds of offset
			in.ReportFrom = time.Date(2021, 8, 26, 6, 0, 0, 120000000, time.FixedZone("", 23*3600+59*60))
			in.ReportBy = time.Date(2021, 8, 26, 6, 0, 0, 999999999, time.FixedZone("", -(23*3600+59*60)))
		},
		"times at the edges": func(in *Instruction) {
			in.IssuedAt = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
			in.ExpiresAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
			in.PlanCreatedAt = time.Now() // a monotonic reading, which JSON ignores
			in.ReportFrom = time.Time{}
			in.ReportBy = time.Unix(0, 0).In(kabul)
		},
		"floats": func(in *Instruction) {
			*in = escort()
			in.RallyPoint.Lat, in.RallyPoint.Lon = math.Copysign(0, -1), 1e-6
			in.Escort.Gate.Lat, in.Escort.Gate.Lon = 9.99e-7, 1e21
		},
		"floats huge and tiny": func(in *Instruction) {
			in.RallyPoint.Lat, in.RallyPoint.Lon = math.MaxFloat64, math.SmallestNonzeroFloat64
		},
		"floats negative": func(in *Instruction) {
			in.RallyPoint.Lat, in.RallyPoint.Lon = -math.MaxFloat64, -1e-7
		},
		"floats at the cutoffs": func(in *Instruction) {
			in.RallyPoint.Lat, in.RallyPoint.Lon = 999999999999999999999.0, 1e20
		},
		"floats with exponents": func(in *Instruction) {
			in.RallyPoint.Lat, in.RallyPoint.Lon = 1.5e-10, -1.234e100
		},
		"floats plain": func(in *Instruction) {
			in.RallyPoint.Lat, in.RallyPoint.Lon = 0.30000000000000004, -180
		},
		// What json.Marshal refuses, AppendJSON refuses.
		"year 10000":        func(in *Instruction) { in.IssuedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"year -1":           func(in *Instruction) { in.ReportBy = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		"year 9999 east":    func(in *Instruction) { in.ReportBy = time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", 3600)) },
		"zone of a day":     func(in *Instruction) { in.ExpiresAt = in.ExpiresAt.In(time.FixedZone("", 24*3600)) },
		"zone of 100 hours": func(in *Instruction) { in.ExpiresAt = in.ExpiresAt.In(time.FixedZone("", -100*3600)) },
		"escort year 10000": func(in *Instruction) {
			*in = escort()
			in.Escort.Through = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"escort departure bad": func(in *Instruction) { *in = escort(); in.Escort.Departure = time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC) },
		"NaN":                  func(in *Instruction) { in.RallyPoint.Lat = math.NaN() },
		"+Inf":                 func(in *Instruction) { in.RallyPoint.Lon = math.Inf(1) },
		"gate -Inf":            func(in *Instruction) { *in = escort(); in.Escort.Gate.Lon = math.Inf(-1) },
		"gate NaN":             func(in *Instruction) { *in = escort(); in.Escort.Gate.Lat = math.NaN() },
	}
	// What json.Marshal refuses; everything else it encodes.
	refused := map[string]bool{"year 10000": true, "year -1": true, "zone of a day": true, "zone of 100 hours": true,
		"escort year 10000": true, "escort departure bad": true, "NaN": true, "+Inf": true, "gate -Inf": true, "gate NaN": true}
	for name, edit := range cases {
		in := sampleInstruction()
		edit(&in)
		checkAppendJSON(t, name, &in)
		if _, err := json.Marshal(&in); (err != nil) != refused[name] {
			t.Errorf("%s: json.Marshal's error is %v, want one: %t (the case does not test what it says)", name, err, refused[name])
		}
	}
}

// Every field, at any depth, is written as json.Marshal writes it, set
// and zero: the test fills the struct by reflection, so a field added
// later and forgotten in AppendJSON fails here.
func TestAppendJSONCoversEveryField(t *testing.T) {
	var in Instruction
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("s%d<&>", n))
		case reflect.Int:
			v.SetInt(int64(n))
		case reflect.Float64:
			v.SetFloat(float64(n) + 0.25)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				v.Set(reflect.ValueOf(time.Unix(int64(n)*1e6, int64(n)).In(time.FixedZone("", 3600*(n%24)))))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0))
			fill(v.Index(1))
		default:
			t.Fatalf("a field of kind %s: teach this test (and AppendJSON) about it", v.Kind())
		}
	}
	fill(reflect.ValueOf(&in).Elem())
	checkAppendJSON(t, "every field set", &in)
	fields := 0
	var zeroEach func(path string, v reflect.Value)
	zeroEach = func(path string, v reflect.Value) {
		switch {
		case v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]():
			for i := range v.NumField() {
				zeroEach(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case v.Kind() == reflect.Pointer:
			zeroEach(path, v.Elem())
		case v.Kind() == reflect.Slice:
			for i := range v.Len() {
				zeroEach(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
		old := reflect.ValueOf(v.Interface())
		v.SetZero()
		checkAppendJSON(t, path+" zero", &in)
		if v.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			checkAppendJSON(t, path+" empty", &in)
		}
		v.Set(old)
		fields++
	}
	zeroEach("Instruction", reflect.ValueOf(&in).Elem())
	if fields < 40 {
		t.Fatalf("zeroed %d fields, want every one of the 40-odd", fields)
	}
	checkAppendJSON(t, "every field set again", &in)
}

// AppendJSON allocates nothing when b has room: the point of it.
func TestAppendJSONAllocatesNothing(t *testing.T) {
	in := benchInstruction()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = in.AppendJSON(buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendJSON allocates %v times an instruction, want 0", allocs)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("Laila Ahmadi", []byte("Kocha-e Gul"), int64(2), 34.5301, 69.1402, int64(1629957600), int64(0), 16200, true)
	f.Add(escapes, []byte(escapes), int64(-1), math.Copysign(0, -1), 1e21, int64(-62135596800), int64(999999999), -86399, false)
	f.Add("", []byte{}, int64(math.MinInt64), 1e-7, math.MaxFloat64, int64(253402300800), int64(1), 86400, true)
	f.Add("لیلا", []byte("\xff"), int64(0), math.NaN(), math.Inf(1), int64(0), int64(-1), 0, false)
	f.Fuzz(func(t *testing.T, s string, bs []byte, n int64, lat, lon float64, sec, nsec int64, offset int, escort bool) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		in := sampleInstruction()
		in.Name, in.Supersedes, in.Household = s, s[:len(s)/2], string(bs)
		in.Version, in.People = int(n), int(-n)
		in.RallyPoint = InstructionPlace{ID: string(bs), Name: s, Lat: lat, Lon: lon}
		in.IssuedAt, in.ReportBy = at, at.Add(time.Duration(n))
		in.Walk.Escape = escort
		in.Walk.Steps[0] = WalkStep{Maneuver: s, Street: string(bs), DistanceM: int(n), Bearing: int(sec)}
		in.Bring = []string{s, string(bs)}
		if len(bs)%3 == 0 {
			in.Bring, in.Walk = nil, Walk{}
		}
		in.Contact = Contact{Phone: string(bs)}
		if escort {
			in.Escort = &EscortBrief{Gate: InstructionPlace{ID: s, Name: string(bs), Lat: lon, Lon: lat},
				Departure: at, Arrival: time.Unix(nsec, sec), Through: at.UTC(), Households: int(sec)}
		}
		checkAppendJSON(t, "fuzzed", &in)
	})
}

// benchInstruction is a household's instruction as an issuance writes
// one: a walk of 8 steps on named streets, Dari names.
func benchInstruction() Instruction {
	in := sampleInstruction()
	in.Name = "لیلا احمدی"
	in.RallyPoint.Name = "مسجد باغ بالا"
	in.IssuedAt = in.IssuedAt.Add(123456789)
	maneuvers := []string{ManeuverDepart, ManeuverLeft, ManeuverRight, ManeuverContinue, ManeuverSlightLeft,
		ManeuverSharpRight, ManeuverLeft, ManeuverArrive}
	in.Walk.Steps = nil
	for i, m := range maneuvers {
		in.Walk.Steps = append(in.Walk.Steps, WalkStep{Maneuver: m, Street: "Street " + strings.Repeat("ab", i),
			DistanceM: 37 * (i + 1), Bearing: (i * 47) % 360})
	}
	return in
}

func BenchmarkAppendJSON(b *testing.B) {
	in := benchInstruction()
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			var err error
			if buf, err = in.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			var err error
			if out, err = json.Marshal(&in); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(out)))
	})
}

func BenchmarkDigest(b *testing.B) {
	in := benchInstruction()
	b.Run("Digest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			in.Digest()
		}
	})
	b.Run("InstructionDigest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			InstructionDigest(&in)
		}
	})
	b.Run("appendCanonical", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf = in.appendCanonical(buf[:0])
		}
		b.SetBytes(int64(len(buf)))
	})
}
