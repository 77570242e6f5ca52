// Package transfer moves a whole tenant between backends: Export writes it as a file, Import loads such a
// file into a tenant of any backend.
//
// The file is JSON Lines: a header line {"orgraph":1,"kind":"header"}, then one object per line in id order
// ({"kind":"user","id":…,"props":{…},"manager":…}, the manager embedded in the object and omitted when there
// is none), then one line per sponsor relationship ({"kind":"sponsor","user":…,"sponsor":…}) in each user's
// sponsor order. One record per line lets export stream a tenant of any size, lets import name the line of
// every problem and skip exactly that line, and keeps the file usable with grep, split and jq. The order and
// the encoding (sorted property names) are fixed, so exporting what an import loaded gives the same bytes:
// a tenant moved SQLite → PostgreSQL → SQLite can be compared with cmp.
//
// Import is all or nothing: it validates every line first, then writes everything in one transaction. A
// half-imported tenant would hold reports whose managers never arrived, and running the import again would
// stumble over the objects the first run left; with one transaction a failed import leaves the tenant as it
// was, so fixing the file and running it again is always safe.
package transfer

import (
	"fmt"

	"github.com/orgraph/orgraph/internal/directory"
)

// formatVersion is the version in the header; Import refuses files of another version rather than guess.
const formatVersion = 1

// The kinds of line other than objects, whose kinds are directory.Kind values.
const (
	kindHeader  = "header"
	kindSponsor = "sponsor"
)

type headerLine struct {
	Orgraph int    `json:"orgraph"`
	Kind    string `json:"kind"`
}

type objectLine struct {
	Kind    directory.Kind `json:"kind"`
	ID      string         `json:"id"`
	Props   map[string]any `json:"props"`
	Manager string         `json:"manager,omitempty"`
}

type sponsorLine struct {
	Kind    string `json:"kind"`
	User    string `json:"user"`
	Sponsor string `json:"sponsor"`
}

// Summary counts what an export wrote or an import loaded.
type Summary struct {
	Users, Groups, Contacts int
	Managers, Sponsors      int
	// Skipped lists the lines an import with Options.SkipBad left out, in line order.
	Skipped []LineError
}

func (s *Summary) countObject(k directory.Kind) {
	switch k {
	case directory.KindUser:
		s.Users++
	case directory.KindGroup:
		s.Groups++
	case directory.KindOrgContact:
		s.Contacts++
	}
}

// LineError is a problem with one line of an import file; lines are numbered from 1.
type LineError struct {
	Line int
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }
