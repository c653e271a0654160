// Package evacuees reads and writes evacuee lists: CSV files with one
// household a row, as people really keep them in spreadsheets, and the
// canonical export of muster.
//
// # Canonical format
//
// Columns (Columns, in this order): household_id, name, name_local,
// members, adults, children, priority, language, phone, email, lat, lon,
// address, eligibility, documents, notes, member_names. The first 16 are
// the shared evacuee-list format; member_names, muster's own, comes last
// so that their order stands. Write produces exactly this:
// comma-separated, UTF-8 without a byte-order mark, values a spreadsheet
// would run as formulas prefixed with an apostrophe. Read(Write(hs)) gives
// back hs for every household Read accepted.
//
// # What Read accepts
//
// The file: UTF-8, with or without a byte-order mark (UTF-16 is refused
// with a hint); CRLF or LF line ends; fields separated by comma, semicolon
// or tab, whichever occurs most in the header line outside quotes; quoted
// fields may hold separators, quotes ("") and line breaks. Blank rows (all
// fields empty, as spreadsheets leave at the end) are skipped. At most
// Options.MaxBytes (64 MiB) and Options.MaxRows (1,000,000 rows).
//
// The header: columns in any order, named by the canonical name or an
// alias; matching ignores case, accents, spaces, underscores, hyphens,
// dots and parentheses ("Phone number" = "phone_number" = "PHONE-NUMBER").
// Unknown columns are ignored and listed in Result.Ignored; two columns
// meaning the same thing are an error. Required: a household id, a name
// (name or name_local), a party size (members, or adults and children, or
// member_names), a location (lat and lon, or address) and a contact (phone
// or email). Result.Present lists the canonical columns the file has.
//
// Aliases, by canonical column:
//
//	household_id household id, household, id, hh id, family id, case id, case number, case no, registration id, reference, ref, id familia, codigo
//	name         full name, head of household, contact name, nome, nome completo, nombre, nom
//	name_local   local name, native name, name (local script), name dari, name pashto, nome local
//	members      party size, household size, family size, size, people, persons, number of people, pax, membros, pessoas, miembros, personas
//	adults       number of adults, adultos, adultes
//	children     number of children, kids, minors, criancas, ninos, enfants
//	priority     prioridade, prioridad, priorite
//	language     lang, preferred language, idioma, lingua, langue
//	phone        phone number, mobile, mobile number, cell, cell phone, tel, telephone, whatsapp, contact number, telefone, telefono, celular
//	email        e-mail, email address, e-mail address, mail, correo, courriel
//	lat          latitude, latitud
//	lon          lng, long, longitude, longitud
//	address      location, street address, endereco, direccion, adresse
//	eligibility  eligibility category, category, visa category, elegibilidade, elegibilidad
//	documents    document, documents status, document status, docs, papers, documentos
//	notes        note, comments, comment, remarks, observacoes, observaciones, notas
//	member_names member names, members names, names of members, member list, list of members, family members, household members, names of family members, nomes dos membros, membros da familia, nombres de los miembros, miembros de la familia, noms des membres, membres de la famille, membres du foyer
//
// # Values
//
// Every value is trimmed; a leading apostrophe before something a
// spreadsheet would run as a formula (=, +, -, @) is removed (spreadsheets
// and Write put it there). Any field over MaxFieldBytes (4 KiB) or not
// valid UTF-8 rejects its row. Names are kept byte for byte (no Unicode
// normalisation), at most MaxNameRunes characters, no control characters.
//
//   - household_id: required; letters, digits, '.', '_', '-', at most 64
//     bytes. A later row with an id already seen is rejected, naming the
//     line of the first.
//   - members, adults, children: whole numbers (Persian and Arabic-Indic
//     digits accepted). members alone; or adults and children, summed; or
//     all three, which must agree; members with one of adults or children
//     gives the other. The party is 1 to MaxPartySize (50) people.
//   - priority: one of muster.Priorities, case, spaces and hyphens ignored;
//     empty means none.
//   - language: en, fa, ps, or a name: English, Dari, Farsi, Persian,
//     Pashto, and دری, فارسی, پښتو; empty is left empty (unknown).
//   - eligibility: one of muster.Eligibilities; documents: one of
//     DocumentStatuses; empty is left empty.
//   - phone: normalised to E.164 (+ and 8 to 15 digits): spaces, dashes,
//     dots and parentheses dropped, 00 becomes +, a leading 0 takes
//     Options.DefaultCountryCode (rejected when it is unset).
//   - email: one @, a dot in the domain, no spaces.
//   - lat, lon: both or neither; decimal numbers within ±90 and ±180, not
//     0,0 (null island: a missing value); a decimal comma is accepted only
//     when the file is not comma-separated.
//   - A row needs a location (coordinates or an address) and a contact
//     (phone or email).
//   - member_names: the people of the household, separated by ";" (or the
//     Arabic semicolon "؛") or line breaks; empty entries are skipped.
//     Each is "Name", "Name (42)" (an age, 0 to MaxMemberAge, Persian
//     digits accepted), "Name (child)" (an age band: child, adult,
//     elderly) or both, "Name (70, elderly)", as Write puts a member who
//     has both; a name may itself hold parentheses when an age follows
//     ("Ali (Jr) (12)"). Names are kept byte for byte, as name is, and
//     checked as name is. Age 0 is kept as age band child (Member.Age 0
//     means unknown), and written back so. At most MaxPartySize people.
//     When members or adults and children are given, the number of people
//     listed must match; when they are all empty, it is the party size.
//     A member under 18 or in band child is a child, any other with an age
//     or band an adult: when every member has one and adults and children
//     are empty, they are filled from the list; when they are given, the
//     list must not hold more adults or children than they say.
//
// Read leaves Household.Status and History empty: they are not in the
// format, and an import must not reset a household's lifecycle.
//
// # What a file carries
//
// Result.Carries names the registry fields a file carries, for
// muster.ImportOptions.Carries: an import updating a household keeps its
// stored value of every field the file has no column for, so a list
// without member_names (or e-mails, or priorities) does not erase what was
// entered through the API since. A column the file has carries its field
// even where a cell is empty: an empty cell clears the field. The columns
// carry these fields:
//
//   - The name column, the name; name_local, the local name; each alone.
//   - The member_names column, the members (and the party size).
//   - The lat and lon columns, the coordinates; the address column, the
//     address; each alone. An address-only list keeps coordinates located
//     since; the import report says to check them when the address changed.
//   - Every party-size column (members, adults, children, member_names),
//     the party size. The adults and children columns also carry the
//     split into adults and children. With neither of them, a stored split
//     that still adds up to the new party size stays, one that no longer
//     does is cleared, and one derived from members' ages replaces it.
//   - Each of the columns priority, language, phone, email, eligibility,
//     documents, notes, its own field. The household id is always there.
package evacuees
