package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"io"

	"github.com/orgraph/orgraph/internal/directory"
)

// exportPage is how many objects one List call reads: large enough that paging costs little, small enough
// that a page of big objects stays a few megabytes.
const exportPage = 1000

// progressEvery is how many lines or records pass between two progress calls.
const progressEvery = 1000

// Export writes every object and relationship of tenant to w in the transfer format. It reads inside one
// View, so the file is one consistent snapshot even while the server keeps writing. progress, when not nil,
// is called with the number of lines written so far (header excluded).
func Export(ctx context.Context, st directory.Transactor, tenant string, w io.Writer, progress func(n int)) (Summary, error) {
	var sum Summary
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	// Names such as "FP&A" stay readable; the file is never embedded in HTML.
	enc.SetEscapeHTML(false)
	lines := 0
	wrote := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		lines++
		if progress != nil && lines%progressEvery == 0 {
			progress(lines)
		}
		return ctx.Err()
	}
	if err := enc.Encode(headerLine{Orgraph: formatVersion, Kind: kindHeader}); err != nil {
		return Summary{}, err
	}
	err := st.View(ctx, tenant, func(tx directory.Tx) error {
		// Sponsor lines follow all objects, so the users are remembered rather than listed a second time.
		var users []string
		q := directory.ListQuery{Limit: exportPage}
		for {
			page, err := tx.List(q)
			if err != nil {
				return err
			}
			for _, o := range page {
				if err := o.Decode(); err != nil {
					return err
				}
				if err := wrote(objectLine{Kind: o.Kind, ID: o.ID, Props: o.Props, Manager: o.ManagerID}); err != nil {
					return err
				}
				sum.countObject(o.Kind)
				if o.ManagerID != "" {
					sum.Managers++
				}
				if o.Kind == directory.KindUser {
					users = append(users, o.ID)
				}
			}
			if len(page) < exportPage {
				break
			}
			q.After = q.Next(page[len(page)-1])
		}
		for _, u := range users {
			sponsors, err := tx.Sponsors(u)
			if err != nil {
				return err
			}
			for _, s := range sponsors {
				if err := wrote(sponsorLine{Kind: kindSponsor, User: u, Sponsor: s.ID}); err != nil {
					return err
				}
				sum.Sponsors++
			}
		}
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	if err := bw.Flush(); err != nil {
		return Summary{}, err
	}
	if progress != nil {
		progress(lines)
	}
	return sum, nil
}
