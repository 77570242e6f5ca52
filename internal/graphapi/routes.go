package graphapi

import (
	"net/http"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
)

func p(path ...string) []string { return path }

// under returns prefix followed by more, in a new slice so patterns never share a backing array.
func under(prefix []string, more ...string) []string {
	return append(append(make([]string, 0, len(prefix)+len(more)), prefix...), more...)
}

// routeTable lists every URL orgraph serves under /v1.0 and /beta, with the permission each needs.
func (s *Server) routeTable() []route {
	user, group, contact := directory.KindUser, directory.KindGroup, directory.KindOrgContact
	get, post, put, patch, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	var rs []route
	add := func(method string, pattern []string, op auth.Operation, h handler) {
		rs = append(rs, route{method: method, pattern: pattern, op: op, serve: h})
	}

	add(get, p("users"), auth.OpListUsers, s.list(user))
	add(post, p("users"), auth.OpCreateUser, s.create(user))
	add(get, p("users", "$count"), auth.OpListUsers, s.count(user))
	add(get, p("users", "{id}"), auth.OpGetUser, s.get(user))
	add(patch, p("users", "{id}"), auth.OpUpdateUser, s.update(user))
	add(del, p("users", "{id}"), auth.OpDeleteUser, s.remove(user))

	add(get, p("users", "{id}", "manager"), auth.OpGetManager, s.getManager(user))
	add(get, p("users", "{id}", "manager", "$ref"), auth.OpGetManager, s.getManagerRef(user))
	add(put, p("users", "{id}", "manager", "$ref"), auth.OpSetManager, s.putManagerRef)
	add(del, p("users", "{id}", "manager", "$ref"), auth.OpRemoveManager, s.deleteManagerRef)

	for _, prefix := range [][]string{p("users", "{id}"), p("contacts", "{id}")} {
		kind, op := user, auth.OpListDirectReports
		if prefix[0] == "contacts" {
			kind, op = contact, auth.OpListContactDirectReports
		}
		dr := under(prefix, "directReports")
		add(get, dr, op, s.directReports(kind, false))
		add(get, under(dr, "$ref"), op, s.directReports(kind, true))
		add(get, under(dr, "$count"), op, s.countDirectReports(kind))
		add(get, under(dr, "{cast}"), op, s.directReports(kind, false))
		add(get, under(dr, "{cast}", "$count"), op, s.countDirectReports(kind))
	}

	add(get, p("users", "{id}", "sponsors"), auth.OpListSponsors, s.sponsors(false))
	add(get, p("users", "{id}", "sponsors", "$ref"), auth.OpListSponsors, s.sponsors(true))
	add(post, p("users", "{id}", "sponsors", "$ref"), auth.OpAddSponsor, s.postSponsorRef)
	add(del, p("users", "{id}", "sponsors", "$ref"), auth.OpRemoveSponsor, s.deleteSponsorRef)
	add(del, p("users", "{id}", "sponsors", "{id}", "$ref"), auth.OpRemoveSponsor, s.deleteSponsorRef)

	add(get, p("groups"), auth.OpListGroups, s.list(group))
	add(post, p("groups"), auth.OpCreateGroup, s.create(group))
	add(get, p("groups", "$count"), auth.OpListGroups, s.count(group))
	add(get, p("groups", "{id}"), auth.OpGetGroup, s.get(group))
	add(patch, p("groups", "{id}"), auth.OpUpdateGroup, s.update(group))
	add(del, p("groups", "{id}"), auth.OpDeleteGroup, s.remove(group))

	add(get, p("contacts"), auth.OpListContacts, s.list(contact))
	add(get, p("contacts", "$count"), auth.OpListContacts, s.count(contact))
	add(get, p("contacts", "{id}"), auth.OpGetContact, s.get(contact))
	add(get, p("contacts", "{id}", "manager"), auth.OpGetContactManager, s.getManager(contact))
	add(get, p("contacts", "{id}", "manager", "$ref"), auth.OpGetContactManager, s.getManagerRef(contact))

	add(get, p("directoryObjects", "{id}"), auth.OpGetDirectoryObject, s.get(""))
	add(post, p("directoryObjects", "getByIds"), auth.OpGetByIDs, s.getByIDs)
	add(post, p("directoryObjects", "microsoft.graph.getByIds"), auth.OpGetByIDs, s.getByIDs)
	return rs
}
