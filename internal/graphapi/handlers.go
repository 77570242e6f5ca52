package graphapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/orgraph/orgraph/internal/directory"
)

func (c *call) canRead(k directory.Kind) bool { return c.principal.CanRead(string(k)) }

// kindsOf lists the kinds a resource path can yield: one for /users, every kind for /directoryObjects.
func kindsOf(k directory.Kind) []directory.Kind {
	if k == "" {
		return directory.Kinds
	}
	return []directory.Kind{k}
}

func entitySet(k directory.Kind) string {
	if k == "" {
		return "directoryObjects"
	}
	return k.EntitySet()
}

// get serves GET /users/{id}, /groups/{id}, /contacts/{id}, /directoryObjects/{id} and /me.
func (s *Server) get(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := c.rejectUnsupported(); err != nil {
			return err
		}
		sel, err := selection(c.query.Select, kindsOf(kind)...)
		if err != nil {
			return err
		}
		d := &doc{}
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			o, err := directory.Resolve(tx, kind, c.keys[0])
			if err != nil {
				return err
			}
			x, err := c.expansion(o.Kind, true)
			if err != nil {
				return err
			}
			d.buf.Reset()
			d.open()
			d.str("@odata.context", contextURL(c.base, entitySet(kind)+"/$entity", sel))
			d.object(o, shape{sel: sel})
			if err := writeExpansion(tx, d, o, x, c); err != nil {
				return err
			}
			d.close()
			return nil
		})
		if err != nil {
			return err
		}
		return writeDoc(w, http.StatusOK, d)
	}
}

// writeExpansion adds the expanded navigation property of o: the manager (nested $levels deep, as in the
// List manager page's example 2), the direct reports (at most 20, as Graph), or the sponsors.
func writeExpansion(tx directory.Tx, d *doc, o *directory.Object, x *expansion, c *call) error {
	if x == nil {
		return nil
	}
	sh := shape{sel: x.sel, canRead: c.canRead}
	switch x.nav {
	case "manager":
		if o.ManagerID == "" {
			return nil
		}
		chain, err := tx.Chain(o.ID, x.levels)
		if err != nil {
			return err
		}
		for _, m := range chain {
			d.key("manager")
			d.open()
			d.object(m, sh)
		}
		for range chain {
			d.close()
		}
	case "directReports":
		objs, err := tx.DirectReports(o.ID, directory.ListQuery{Limit: maxExpandedItems})
		if err != nil {
			return err
		}
		d.list("directReports", objs, sh)
	case "sponsors":
		objs, err := tx.Sponsors(o.ID)
		if err != nil {
			return err
		}
		d.list("sponsors", objs, sh)
	}
	return nil
}

// list serves GET /users, /groups and /contacts, one page at a time, filtered, searched and sorted as the
// query asks.
func (s *Server) list(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		sel, err := selection(c.query.Select, kind)
		if err != nil {
			return err
		}
		x, err := c.expansion(kind, false)
		if err != nil {
			return err
		}
		top, err := c.pageSize()
		if err != nil {
			return err
		}
		q, err := c.listQuery(r, []directory.Kind{kind}, top)
		if err != nil {
			return err
		}
		d := &doc{}
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			objs, err := tx.List(q)
			if err != nil {
				return err
			}
			count := -1
			if c.query.Count && c.eventual {
				if count, err = tx.Count(q); err != nil {
					return err
				}
			}
			d.buf.Reset()
			return c.writePage(tx, d, r, q, objs, top, count, entitySet(kind), shape{sel: sel}, x)
		})
		if err != nil {
			return err
		}
		return writeDoc(w, http.StatusOK, d)
	}
}

// writePage writes a collection response: @odata.context, @odata.count when asked, @odata.nextLink when
// objs holds more than top (the store is asked for one extra to know), then value. q is the query the
// page came from, which places the next page's cursor.
func (c *call) writePage(tx directory.Tx, d *doc, r *http.Request, q directory.ListQuery, objs []*directory.Object, top, count int, set string, sh shape, x *expansion) error {
	d.open()
	d.str("@odata.context", contextURL(c.base, set, sh.sel))
	if count >= 0 {
		d.value("@odata.count", count)
	}
	if len(objs) > top {
		objs = objs[:top]
		d.str("@odata.nextLink", c.nextLink(r, q.Next(objs[top-1])))
	}
	d.key("value")
	d.buf.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			d.buf.WriteByte(',')
		}
		d.open()
		d.object(o, sh)
		if err := writeExpansion(tx, d, o, x, c); err != nil {
			return err
		}
		d.close()
	}
	d.buf.WriteByte(']')
	d.close()
	return nil
}

// writeRefs writes a collection of references: what GET …/$ref returns.
func (c *call) writeRefs(d *doc, objs []*directory.Object) {
	d.open()
	d.str("@odata.context", c.base+"/$metadata#Collection($ref)")
	d.key("value")
	d.buf.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			d.buf.WriteByte(',')
		}
		d.open()
		d.str("@odata.id", c.base+"/directoryObjects/"+o.ID)
		d.close()
	}
	d.buf.WriteByte(']')
	d.close()
}

// writeCount answers a /$count segment: bare digits as text/plain, as Graph does. Graph counts only with
// ConsistencyLevel: eventual.
func (c *call) writeCount(w http.ResponseWriter, n int) error {
	b := strconv.Itoa(n)
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte(b))
	return err
}

var errCountUnsupported = badRequest("$count is not currently supported.")

// count serves GET /users/$count and its siblings, which take $filter and $search.
func (s *Server) count(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if !c.eventual {
			return errCountUnsupported
		}
		q, err := c.listQuery(r, []directory.Kind{kind}, 0)
		if err != nil {
			return err
		}
		var n int
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) (err error) {
			n, err = tx.Count(q)
			return err
		})
		if err != nil {
			return err
		}
		return c.writeCount(w, n)
	}
}

// create serves POST /users and POST /groups: 201 with the new object.
func (s *Server) create(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var props map[string]any
		if err := s.decodeBody(r, &props); err != nil {
			return err
		}
		o, err := s.dir.Create(r.Context(), c.tenant, kind, props)
		if err != nil {
			return err
		}
		d := &doc{}
		d.open()
		d.str("@odata.context", contextURL(c.base, kind.EntitySet()+"/$entity", nil))
		d.object(o, shape{})
		d.close()
		w.Header().Set("Location", c.base+"/"+kind.EntitySet()+"/"+o.ID)
		return writeDoc(w, http.StatusCreated, d)
	}
}

// update serves PATCH on a user or group: 204.
func (s *Server) update(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var props map[string]any
		if err := s.decodeBody(r, &props); err != nil {
			return err
		}
		if err := s.dir.Update(r.Context(), c.tenant, kind, c.keys[0], props); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// remove serves DELETE on a user or group: 204.
func (s *Server) remove(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := s.dir.Delete(r.Context(), c.tenant, kind, c.keys[0]); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// maxGetByIDs is the most ids one getByIds call may name, as in Graph.
const maxGetByIDs = 1000

// getByIDs serves POST /directoryObjects/getByIds.
func (s *Server) getByIDs(w http.ResponseWriter, r *http.Request, c *call) error {
	var body struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := s.decodeBody(r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 {
		return badRequest("Invalid value specified for property 'ids' of resource 'DirectoryObject'.")
	}
	if len(body.IDs) > maxGetByIDs {
		return badRequest("The number of ids must not exceed %d.", maxGetByIDs)
	}
	want := map[directory.Kind]bool{}
	for _, t := range body.Types {
		k, ok := directory.ParseKind(t)
		if !ok {
			return badRequest("Invalid value specified for property 'types' of resource 'DirectoryObject'.")
		}
		want[k] = true
	}
	d := &doc{}
	err := s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
		ids := make([]string, len(body.IDs))
		for i, id := range body.IDs {
			ids[i] = directory.NormalizeID(id)
		}
		objs, err := tx.GetMany(ids)
		if err != nil {
			return err
		}
		kept := objs[:0]
		for _, o := range objs {
			if len(want) == 0 || want[o.Kind] {
				kept = append(kept, o)
			}
		}
		d.buf.Reset()
		d.open()
		d.str("@odata.context", c.base+"/$metadata#directoryObjects")
		d.list("value", kept, shape{canRead: c.canRead})
		d.close()
		return nil
	})
	if err != nil {
		return err
	}
	return writeDoc(w, http.StatusOK, d)
}

// ownHost is the host an @odata.id may name besides Graph's: this server as its clients reach it.
func (s *Server) ownHost(r *http.Request) string {
	if u, err := url.Parse(s.baseURL(r)); err == nil {
		return u.Host
	}
	return r.Host
}
