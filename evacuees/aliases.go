package evacuees

import (
	"strings"
	"unicode"
)

// Canonical column names, in the order Write puts them. The first 16 are
// the columns of the format in ../shared/scenarios/README.md; member_names
// is muster's own, after them so that their order stands.
const (
	ColID          = "household_id"
	ColName        = "name"
	ColNameLocal   = "name_local"
	ColMembers     = "members"
	ColAdults      = "adults"
	ColChildren    = "children"
	ColPriority    = "priority"
	ColLanguage    = "language"
	ColPhone       = "phone"
	ColEmail       = "email"
	ColLat         = "lat"
	ColLon         = "lon"
	ColAddress     = "address"
	ColEligibility = "eligibility"
	ColDocuments   = "documents"
	ColNotes       = "notes"
	ColMemberNames = "member_names"
)

// Columns lists the canonical columns in export order.
var Columns = []string{ColID, ColName, ColNameLocal, ColMembers, ColAdults, ColChildren, ColPriority, ColLanguage,
	ColPhone, ColEmail, ColLat, ColLon, ColAddress, ColEligibility, ColDocuments, ColNotes, ColMemberNames}

// numColumns is len(Columns), as a constant for arrays.
const numColumns = 17

// headerAliases maps a normalised header (see normaliseHeader: lower case,
// accents removed, spaces, underscores, hyphens, dots, slashes and
// parentheses dropped) to the canonical column it means. The table is in the
// package documentation; keep both in step (TestAliasTableDocumented).
var headerAliases = map[string]string{}

// aliasTable is the source of headerAliases, by canonical column, as people
// write headers in English, Portuguese, Spanish and French spreadsheets.
var aliasTable = map[string][]string{
	ColID:          {"household_id", "household id", "household", "id", "hh id", "family id", "case id", "case number", "case no", "registration id", "reference", "ref", "id familia", "codigo"},
	ColName:        {"name", "full name", "head of household", "contact name", "nome", "nome completo", "nombre", "nom"},
	ColNameLocal:   {"name_local", "local name", "native name", "name (local script)", "name dari", "name pashto", "nome local"},
	ColMembers:     {"members", "party size", "household size", "family size", "size", "people", "persons", "number of people", "pax", "membros", "pessoas", "miembros", "personas"},
	ColAdults:      {"adults", "number of adults", "adultos", "adultes"},
	ColChildren:    {"children", "number of children", "kids", "minors", "criancas", "ninos", "enfants"},
	ColPriority:    {"priority", "prioridade", "prioridad", "priorite"},
	ColLanguage:    {"language", "lang", "preferred language", "idioma", "lingua", "langue"},
	ColPhone:       {"phone", "phone number", "mobile", "mobile number", "cell", "cell phone", "tel", "telephone", "whatsapp", "contact number", "telefone", "telefono", "celular"},
	ColEmail:       {"email", "e-mail", "email address", "e-mail address", "mail", "correo", "courriel"},
	ColLat:         {"lat", "latitude", "latitud"},
	ColLon:         {"lon", "lng", "long", "longitude", "longitud"},
	ColAddress:     {"address", "location", "street address", "endereco", "direccion", "adresse"},
	ColEligibility: {"eligibility", "eligibility category", "category", "visa category", "elegibilidade", "elegibilidad"},
	ColDocuments:   {"documents", "document", "documents status", "document status", "docs", "papers", "documentos"},
	ColNotes:       {"notes", "note", "comments", "comment", "remarks", "observacoes", "observaciones", "notas"},
	// Not "names" or "member" alone: the first is the household's name in
	// many sheets, the second a head count. Every alias here normalises to
	// something else than an alias of members ("membros", "miembros"...).
	ColMemberNames: {"member_names", "member names", "members names", "names of members", "member list", "list of members",
		"family members", "household members", "names of family members", "nomes dos membros", "membros da familia",
		"nombres de los miembros", "miembros de la familia", "noms des membres", "membres de la famille", "membres du foyer"},
}

func init() {
	if len(Columns) != numColumns {
		panic("evacuees: numColumns is not len(Columns)")
	}
	for col, aliases := range aliasTable {
		for _, a := range aliases {
			k := normaliseHeader(a)
			if prev, ok := headerAliases[k]; ok && prev != col {
				panic("evacuees: header alias " + a + " means both " + prev + " and " + col)
			}
			headerAliases[k] = col
		}
	}
}

// accentFold maps the accented Latin letters of Portuguese, Spanish, French
// and German headers to their base letter, so "Endereço" and "endereco" are
// one header. Hand-written to keep golang.org/x/text out of this package.
var accentFold = map[rune]rune{
	'á': 'a', 'à': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a',
	'ç': 'c', 'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i', 'ñ': 'n',
	'ó': 'o', 'ò': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u', 'ý': 'y', 'ÿ': 'y',
}

// normaliseHeader reduces a header to the letters and digits that carry its
// meaning: "Phone number", "phone_number" and " PHONE-NUMBER " are one key.
func normaliseHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if f, ok := accentFold[r]; ok {
			r = f
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
