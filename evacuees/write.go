package evacuees

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/muster-evac/muster"
)

// Write exports households in the canonical format: a header of Columns,
// comma-separated, UTF-8 without a byte-order mark, one household a row.
// Values a spreadsheet would run as formulas ("=HYPERLINK(...)") are
// neutralised with a leading apostrophe, which Read removes again, so
// Read(Write(hs)) gives hs back for every household Read accepted.
//
// Members go in member_names, the last column, as "Name (42); Name
// (child)": an age when it is known, else the age band. Status and History
// are not part of the format and are not written. Write does not validate:
// a household Read would reject is written as it is.
func Write(w io.Writer, hs []muster.Household) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return fmt.Errorf("writing the evacuee list header: %w", err)
	}
	rec := make([]string, len(Columns))
	for i := range hs {
		h := &hs[i]
		rec[0], rec[1], rec[2] = h.ID, h.Name, h.NameLocal
		rec[3], rec[4], rec[5] = "", "", ""
		if h.PartySize != 0 {
			rec[3] = strconv.Itoa(h.PartySize)
		}
		// Adults and children unknown (both 0) are written empty: "3,0,0"
		// would read back as a contradiction.
		if h.Adults != 0 || h.Children != 0 {
			rec[4], rec[5] = strconv.Itoa(h.Adults), strconv.Itoa(h.Children)
		}
		rec[6], rec[7], rec[8], rec[9] = h.Priority, h.Language, h.Phone, h.Email
		rec[10], rec[11] = "", ""
		if h.HasLocation {
			rec[10], rec[11] = formatCoord(h.Lat), formatCoord(h.Lon)
		}
		rec[12], rec[13], rec[14], rec[15] = h.Address, h.Eligibility, h.Documents, h.Notes
		rec[16] = formatMembers(h.Members)
		for j := range rec {
			rec[j] = neutralise(rec[j])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing household %s: %w", h.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the evacuee list: %w", err)
	}
	return nil
}
