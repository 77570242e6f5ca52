package graphapi

import (
	"net/http"

	"github.com/orgraph/orgraph/internal/directory"
)

// managerOf reads the manager of the user or contact named by the path, or Graph's 404 for "no manager".
func managerOf(tx directory.Tx, kind directory.Kind, key string) (*directory.Object, error) {
	o, err := directory.Resolve(tx, kind, key)
	if err != nil {
		return nil, err
	}
	if o.ManagerID == "" {
		return nil, errManagerNotFound
	}
	m, err := tx.Get(o.ManagerID)
	if err != nil {
		return nil, errManagerNotFound
	}
	return m, nil
}

// getManager serves GET /users/{id}/manager (and /me/manager, /contacts/{id}/manager).
func (s *Server) getManager(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := c.rejectUnsupported(); err != nil {
			return err
		}
		if len(c.query.Expand) > 0 {
			return unsupportedQuery("$expand is not supported on manager; expand manager on the user instead.")
		}
		sel, err := selection(c.query.Select, navTargets["manager"]...)
		if err != nil {
			return err
		}
		d := &doc{}
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			m, err := managerOf(tx, kind, c.keys[0])
			if err != nil {
				return err
			}
			d.buf.Reset()
			d.open()
			d.str("@odata.context", contextURL(c.base, "directoryObjects/$entity", sel))
			d.object(m, shape{sel: sel, canRead: c.canRead})
			d.close()
			return nil
		})
		if err != nil {
			return err
		}
		return writeDoc(w, http.StatusOK, d)
	}
}

// getManagerRef serves GET …/manager/$ref: a reference to the manager rather than the manager.
func (s *Server) getManagerRef(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var m *directory.Object
		err := s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) (err error) {
			m, err = managerOf(tx, kind, c.keys[0])
			return err
		})
		if err != nil {
			return err
		}
		d := &doc{}
		d.open()
		d.str("@odata.context", c.base+"/$metadata#$ref")
		d.str("@odata.id", c.base+"/directoryObjects/"+m.ID)
		d.close()
		return writeDoc(w, http.StatusOK, d)
	}
}

// putManagerRef serves PUT /users/{id}/manager/$ref, the Assign manager API: 204 and no body.
func (s *Server) putManagerRef(w http.ResponseWriter, r *http.Request, c *call) error {
	var body refBody
	if err := s.decodeBody(r, &body); err != nil {
		return err
	}
	ref, err := s.readRef(c, s.ownHost(r), body)
	if err != nil {
		return err
	}
	if err := s.dir.SetManager(r.Context(), c.tenant, c.keys[0], ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteManagerRef serves DELETE /users/{id}/manager/$ref: 204.
func (s *Server) deleteManagerRef(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.dir.RemoveManager(r.Context(), c.tenant, c.keys[0]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// directReports serves GET …/directReports, its type casts (…/microsoft.graph.user) and, with refs, …/$ref,
// filtered, searched and sorted as the query asks. Direct reports are the inverse of manager and have no
// write API of their own, as the seed page says.
func (s *Server) directReports(kind directory.Kind, refs bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if len(c.query.Expand) > 0 {
			return unsupportedQuery("$expand is not supported on directReports.")
		}
		kinds, set, err := reportKinds(c)
		if err != nil {
			return err
		}
		sel, err := selection(c.query.Select, kinds...)
		if err != nil {
			return err
		}
		top, err := c.pageSize()
		if err != nil {
			return err
		}
		q, err := c.listQuery(r, kinds, top)
		if err != nil {
			return err
		}
		d := &doc{}
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			o, err := directory.Resolve(tx, kind, c.keys[0])
			if err != nil {
				return err
			}
			objs, err := tx.DirectReports(o.ID, q)
			if err != nil {
				return err
			}
			d.buf.Reset()
			if refs {
				if len(objs) > top {
					objs = objs[:top]
				}
				c.writeRefs(d, objs)
				return nil
			}
			count := -1
			if c.query.Count && c.eventual {
				if count, err = tx.CountDirectReports(o.ID, q); err != nil {
					return err
				}
			}
			return c.writePage(tx, d, r, q, objs, top, count, set, shape{sel: sel, canRead: c.canRead}, nil)
		})
		if err != nil {
			return err
		}
		return writeDoc(w, http.StatusOK, d)
	}
}

// reportKinds returns the kinds a directReports request lists (users and contacts, or the type cast's) and
// the entity set its @odata.context names.
func reportKinds(c *call) ([]directory.Kind, string, error) {
	if c.cast == "" {
		return navTargets["directReports"], "directoryObjects", nil
	}
	if c.cast != directory.KindUser && c.cast != directory.KindOrgContact {
		return nil, "", badRequest("Resource not found for the segment '%s'.", "microsoft.graph."+string(c.cast))
	}
	return []directory.Kind{c.cast}, c.cast.EntitySet(), nil
}

// countDirectReports serves GET …/directReports/$count and …/directReports/{cast}/$count, which take
// $filter and $search.
func (s *Server) countDirectReports(kind directory.Kind) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if !c.eventual {
			return errCountUnsupported
		}
		kinds, _, err := reportKinds(c)
		if err != nil {
			return err
		}
		q, err := c.listQuery(r, kinds, 0)
		if err != nil {
			return err
		}
		var n int
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			o, err := directory.Resolve(tx, kind, c.keys[0])
			if err != nil {
				return err
			}
			n, err = tx.CountDirectReports(o.ID, q)
			return err
		})
		if err != nil {
			return err
		}
		return c.writeCount(w, n)
	}
}

// sponsors serves GET /users/{id}/sponsors and, with refs, …/sponsors/$ref.
func (s *Server) sponsors(refs bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := c.rejectUnsupported(); err != nil {
			return err
		}
		if len(c.query.Expand) > 0 {
			return unsupportedQuery("$expand is not supported on sponsors.")
		}
		sel, err := selection(c.query.Select, navTargets["sponsors"]...)
		if err != nil {
			return err
		}
		d := &doc{}
		err = s.dir.View(r.Context(), c.tenant, func(tx directory.Tx) error {
			u, err := directory.Resolve(tx, directory.KindUser, c.keys[0])
			if err != nil {
				return err
			}
			objs, err := tx.Sponsors(u.ID)
			if err != nil {
				return err
			}
			d.buf.Reset()
			if refs {
				c.writeRefs(d, objs)
				return nil
			}
			return c.writePage(tx, d, r, directory.ListQuery{}, objs, len(objs), -1, "directoryObjects", shape{sel: sel, canRead: c.canRead}, nil)
		})
		if err != nil {
			return err
		}
		return writeDoc(w, http.StatusOK, d)
	}
}

// postSponsorRef serves POST /users/{id}/sponsors/$ref, the Add sponsor API: 204 and no body.
func (s *Server) postSponsorRef(w http.ResponseWriter, r *http.Request, c *call) error {
	var body refBody
	if err := s.decodeBody(r, &body); err != nil {
		return err
	}
	ref, err := s.readRef(c, s.ownHost(r), body)
	if err != nil {
		return err
	}
	if err := s.dir.AddSponsor(r.Context(), c.tenant, c.keys[0], ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteSponsorRef serves both forms current SDKs send: DELETE …/sponsors/{sponsorId}/$ref and
// DELETE …/sponsors/$ref?@id={url}.
func (s *Server) deleteSponsorRef(w http.ResponseWriter, r *http.Request, c *call) error {
	var ref directory.Ref
	if len(c.keys) == 2 {
		ref.ID = c.keys[1]
	} else {
		raw := r.URL.Query().Get("@id")
		if raw == "" {
			return badRequest("The @id query parameter naming the sponsor to remove is required.")
		}
		var err error
		if ref, err = parseRef(raw, s.ownHost(r)); err != nil {
			return err
		}
	}
	if err := s.dir.RemoveSponsor(r.Context(), c.tenant, c.keys[0], ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
