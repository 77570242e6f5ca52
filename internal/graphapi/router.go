package graphapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
)

// handler serves one matched route; an error it returns is written by writeError.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// route is one Graph URL template under a version prefix. In pattern, "{id}" captures a key (an id or,
// for users, a userPrincipalName), "{cast}" a type-cast segment such as microsoft.graph.user, and other
// segments match literally, case-insensitively as Graph's router does.
type route struct {
	method  string
	pattern []string
	op      auth.Operation
	serve   handler
}

// match holds what a request path yielded.
type match struct {
	version string   // "v1.0" or "beta"
	me      bool     // the path began with /me, so keys[0] is the signed-in user
	keys    []string // captured {id} segments, in order
	cast    directory.Kind
}

// splitPath splits an escaped URL path into unescaped segments, so that an encoded "/" stays inside its
// segment and a UPN's %40 becomes "@".
func splitPath(escaped string) ([]string, error) {
	raw := strings.Split(strings.Trim(escaped, "/"), "/")
	segs := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs = append(segs, u)
	}
	return segs, nil
}

// resolve finds the route for a method and path. It reports a 405 when the path is known but the method
// is not, and Graph's 400 for a path segment it does not know.
func resolve(routes []route, method, escapedPath string) (*route, *match, error) {
	segs, err := splitPath(escapedPath)
	if err != nil || len(segs) < 2 {
		return nil, nil, badRequest("Invalid request URL.")
	}
	m := &match{version: segs[0]}
	if m.version != "v1.0" && m.version != "beta" {
		return nil, nil, badRequest("Invalid version: %s", segs[0])
	}
	segs = segs[1:]
	if strings.EqualFold(segs[0], "me") {
		// /me/... is /users/{signed-in user}/...: the key is filled in once the token is known.
		m.me = true
		segs = append([]string{"users", "me"}, segs[1:]...)
	}
	pathKnown := false
	for i := range routes {
		rt := &routes[i]
		keys, cast, ok := matchPattern(rt.pattern, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if rt.method != method {
			continue
		}
		m.keys, m.cast = keys, cast
		return rt, m, nil
	}
	if pathKnown {
		return nil, nil, &Error{Status: http.StatusMethodNotAllowed, Code: codeBadRequest, Message: "Specified HTTP method is not allowed for the request target."}
	}
	return nil, nil, badRequest("Resource not found for the segment '%s'.", unknownSegment(routes, segs))
}

func matchPattern(pattern, segs []string) ([]string, directory.Kind, bool) {
	if len(pattern) != len(segs) {
		return nil, "", false
	}
	var (
		keys []string
		cast directory.Kind
	)
	for i, p := range pattern {
		switch p {
		case "{id}":
			if segs[i] == "" || strings.HasPrefix(segs[i], "$") {
				return nil, "", false
			}
			keys = append(keys, segs[i])
		case "{cast}":
			if !strings.Contains(segs[i], ".") {
				return nil, "", false
			}
			k, ok := directory.ParseKind(segs[i])
			if !ok {
				return nil, "", false
			}
			cast = k
		default:
			if !strings.EqualFold(p, segs[i]) {
				return nil, "", false
			}
		}
	}
	return keys, cast, true
}

// unknownSegment names the first segment no route accepts, for Graph's "Resource not found for the segment" error.
func unknownSegment(routes []route, segs []string) string {
	for n := len(segs); n > 0; n-- {
		for _, rt := range routes {
			if len(rt.pattern) >= n {
				if _, _, ok := matchPattern(rt.pattern[:n], segs[:n]); ok {
					if n == len(segs) {
						return segs[n-1]
					}
					return segs[n]
				}
			}
		}
	}
	return segs[0]
}
