package evacuees

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

func TestMemberNames(t *testing.T) {
	m := func(name string, age int, band string) muster.Member {
		return muster.Member{Name: name, Age: age, AgeBand: band}
	}
	cases := []struct {
		members, adults, children, list string
		want                            []muster.Member
		party                           [3]int // party, adults, children
		wantErr                         string
	}{
		{list: "Ali (40); Sara (child); زرغونه (۷۰)", party: [3]int{3, 2, 1},
			want: []muster.Member{m("Ali", 40, ""), m("Sara", 0, "child"), m("زرغونه", 70, "")}},
		{members: "3", list: "Ali; Sara; Omid", party: [3]int{3, 0, 0}, want: []muster.Member{m("Ali", 0, ""), m("Sara", 0, ""), m("Omid", 0, "")}},
		{members: "3", list: "Ali (40)\nSara (17)\r\nOmid (Elderly)", party: [3]int{3, 2, 1},
			want: []muster.Member{m("Ali", 40, ""), m("Sara", 17, ""), m("Omid", 0, "elderly")}},
		{members: "3", adults: "2", children: "1", list: "Ali (40); Sara (5); Omid", party: [3]int{3, 2, 1},
			want: []muster.Member{m("Ali", 40, ""), m("Sara", 5, ""), m("Omid", 0, "")}},
		{adults: "1", children: "1", list: "Ali (18); Baby (0)", party: [3]int{2, 1, 1}, want: []muster.Member{m("Ali", 18, ""), m("Baby", 0, "child")}},
		{list: "Ali;;  ; Sara؛ Omid;\n", party: [3]int{3, 0, 0}, want: []muster.Member{m("Ali", 0, ""), m("Sara", 0, ""), m("Omid", 0, "")}},
		{list: "Zarghuna (70, elderly); Omid (elderly، 81)", party: [3]int{2, 2, 0},
			want: []muster.Member{m("Zarghuna", 70, "elderly"), m("Omid", 81, "elderly")}},
		{list: "Ali (Jr) (12)", party: [3]int{1, 0, 1}, want: []muster.Member{m("Ali (Jr)", 12, "")}},
		{list: "Ali (Jr", party: [3]int{1, 0, 0}, want: []muster.Member{m("Ali (Jr", 0, "")}},
		{list: "'=Ali (ADULT)", party: [3]int{1, 1, 0}, want: []muster.Member{m("=Ali", 0, "adult")}},
		{members: "2", list: "Ali (40); Sara (5); Omid", wantErr: `"Ali (40); Sara (5); Omid" lists 3 people, but members says 2`},
		{adults: "1", children: "1", list: "Ali; Sara; Omid", wantErr: "lists 3 people, but adults + children make 2"},
		{members: "3", adults: "2", children: "1", list: "Ali (4); Sara (5); Omid", wantErr: "gives at least 0 adults and 2 children by age (a child is under 18, or \"child\"), but the row has 2 adults and 1 children"},
		{adults: "2", list: "Ali (40); Sara (child)", wantErr: "gives 1 adults and 1 children by age (a child is under 18, or \"child\"), but the row has 2 adults and 0 children"},
		{list: "Ali (131)", wantErr: `has member 1 ("Ali (131)") with age 131 (an age is 0 to 130)`},
		{list: "Ali; Sara (teen)", wantErr: `has member 2 ("Sara (teen)") with "teen", neither an age (0 to 130) nor an age band (child, adult, elderly)`},
		{list: "Ali (70, old)", wantErr: `with "70, old": "old" is not an age band`},
		{list: "Ali (seventy, elderly)", wantErr: `with "seventy, elderly": want an age`},
		{list: "Ali (-3)", wantErr: `with "-3", neither an age`},
		{list: "Ali; (40)", wantErr: `has member 2 ("(40)") with no name`},
		{list: "Ali ()", wantErr: "with empty parentheses"},
		{list: "Ali)", wantErr: "with a ')' but no '('"},
		{list: "Ali\x07", wantErr: "whose name contains a control character (U+0007)"},
		{list: "Ali\tKarimi", wantErr: "whose name contains a line break or tab"},
		{list: strings.Repeat("ن", 201), wantErr: "whose name is too long (201 characters"},
		{members: "5", list: "5", wantErr: "with a number for a name (the count of people goes in the members column)"},
		{list: strings.Repeat("Ali; ", 51), wantErr: "lists 51 people: a household has at most 50"},
		{wantErr: "no party size: members, adults, children and member_names are all empty"},
	}
	for _, c := range cases {
		t.Run(c.list, func(t *testing.T) {
			file := "id,name,members,adults,children,address,phone,member_names\nH1,Ali," + c.members + "," + c.adults + "," + c.children +
				",Kabul,+93700000001,\"" + strings.ReplaceAll(c.list, `"`, `""`) + "\"\n"
			row := readString(t, file, Options{}).Rows[0]
			if c.wantErr != "" {
				if row.OK() || !strings.Contains(rowErrors(row), c.wantErr) {
					t.Fatalf("errors %q, want one containing %q", rowErrors(row), c.wantErr)
				}
				if c.list != "" && !strings.Contains(rowErrors(row), `column "member_names"`) {
					t.Errorf("error %q does not name the column", rowErrors(row))
				}
				return
			}
			h := row.Household
			if !row.OK() {
				t.Fatalf("rejected: %s", rowErrors(row))
			}
			if got := [3]int{h.PartySize, h.Adults, h.Children}; got != c.party {
				t.Errorf("party, adults, children %v, want %v", got, c.party)
			}
			if !reflect.DeepEqual(h.Members, c.want) {
				t.Errorf("members %+v, want %+v", h.Members, c.want)
			}
		})
	}
}

func TestMemberNamesHeaders(t *testing.T) {
	// "Membros" is the head count, "Nomes dos membros" the list: one file
	// may have both without a clash.
	res := readString(t, "ID;Nome;Membros;Nomes dos membros;Endereço;Telefone\nF1;Ana;2;\"Ana (30)\nBia (3)\";Rua A;+5551999990000\n", Options{})
	if res.Mapping["Membros"] != ColMembers || res.Mapping["Nomes dos membros"] != ColMemberNames {
		t.Fatalf("mapping %v", res.Mapping)
	}
	h := res.Rows[0].Household
	if !res.Rows[0].OK() || len(h.Members) != 2 || h.Adults != 1 || h.Children != 1 {
		t.Fatalf("%+v %s", h, rowErrors(res.Rows[0]))
	}
	for _, header := range []string{"Family members", "Member names", "names of members", "Noms des membres", "Miembros de la familia"} {
		if col := headerAliases[normaliseHeader(header)]; col != ColMemberNames {
			t.Errorf("%q means %q, want member_names", header, col)
		}
	}
	// A member list is a party size: a file may have no other.
	res = readString(t, "id,name,family members,address,phone\nH1,Ali,Ali (40); Sara (9),Kabul,+93700000001\n", Options{})
	if h := res.Rows[0].Household; !res.Rows[0].OK() || h.PartySize != 2 || h.Adults != 1 || h.Children != 1 {
		t.Fatalf("%+v %s", h, rowErrors(res.Rows[0]))
	}
}

func TestMembersRoundTrip(t *testing.T) {
	file := canonHeader +
		"H1,Ali Karimi,علی کریمی,,,,medical,fa,+93700000001,,34.5,69.1,,siv,passport,,\"علی کریمی (۴۲)\nزرغونه (70, elderly); Baby (0); Omid (Jr) (12)\"\n" +
		"H2,Sara,,2,,,,,+93700000002,,,,Kabul,,,,\n" +
		"H3,=Ahmad,,2,1,1,,,+93700000003,,,,Kabul,,,,'=Ahmad; Nadia\n"
	res := readString(t, file, Options{})
	if res.Bad != 0 {
		t.Fatalf("bad rows: %s %s %s", rowErrors(res.Rows[0]), rowErrors(res.Rows[1]), rowErrors(res.Rows[2]))
	}
	hs := res.Households()
	if h := hs[0]; h.PartySize != 4 || h.Adults != 2 || h.Children != 2 || h.Members[0].Name != "علی کریمی" || h.Members[0].Age != 42 {
		t.Fatalf("H1 %+v", h)
	}
	var out bytes.Buffer
	if err := Write(&out, hs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ",\"علی کریمی (42); زرغونه (70, elderly); Baby (child); Omid (Jr) (12)\"\n") || !strings.Contains(out.String(), ",'=Ahmad; Nadia\n") {
		t.Errorf("export:\n%s", out.String())
	}
	back := readString(t, out.String(), Options{})
	if got := back.Households(); !reflect.DeepEqual(got, hs) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, hs)
	}
}

func TestCarries(t *testing.T) {
	cases := []struct {
		header string
		want   []string
	}{
		{strings.TrimSuffix(canonHeader, "\n"), muster.RegistryFields},
		{"id,name,members,address,phone", []string{muster.FieldName, muster.FieldPartySize, muster.FieldPhone, muster.FieldAddress}},
		{"id,name_local,adults,children,lat,lon,email,notes", []string{muster.FieldNameLocal, muster.FieldPartySize,
			muster.FieldAdultsChildren, muster.FieldEmail, muster.FieldLocation, muster.FieldNotes}},
		{"id,name,member names,address,phone,priority", []string{muster.FieldName, muster.FieldMembers, muster.FieldPartySize,
			muster.FieldPriority, muster.FieldPhone, muster.FieldAddress}},
	}
	for _, c := range cases {
		res := readString(t, c.header+"\n", Options{})
		if got := res.Carries(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: carries %q, want %q", c.header, got, c.want)
		}
	}
	res := readString(t, "Full name;Household ID;Latitude;Longitude;Party size;Phone number;Comments;Extra\n", Options{})
	if want := []string{ColID, ColName, ColMembers, ColPhone, ColLat, ColLon, ColNotes}; !reflect.DeepEqual(res.Present, want) {
		t.Errorf("present %q, want %q", res.Present, want)
	}
}
