package graphapi

import (
	"net/url"
	"strings"

	"github.com/orgraph/orgraph/internal/directory"
)

// graphHosts are the Microsoft Graph endpoints of the global and national clouds: an @odata.id copied from
// Graph's documentation or from code written for one of them names an object here too.
var graphHosts = map[string]bool{
	"graph.microsoft.com":              true,
	"canary.graph.microsoft.com":       true,
	"graph.microsoft.us":               true,
	"dod-graph.microsoft.us":           true,
	"microsoftgraph.chinacloudapi.cn":  true,
	"graph.microsoft.de":               true,
	"graph.microsoftazure.de":          true,
	"microsoftgraph.chinacloudapi.com": true,
}

// entitySets maps a URL's entity set to the kind it holds ("" for directoryObjects: any kind).
var entitySets = map[string]directory.Kind{
	"users":            directory.KindUser,
	"groups":           directory.KindGroup,
	"contacts":         directory.KindOrgContact,
	"directoryobjects": "",
}

// parseRef reads the object an @odata.id names. It accepts an absolute URL on a Graph host or on this
// server, under v1.0 or beta, of the forms {set}/{id} and {set}/{id}/{type cast}, and Graph's own $ref
// answers (https://graph.microsoft.com/v2/{tenant}/directoryObjects/{id}/Microsoft.DirectoryServices.User),
// so what a $ref GET returned can be PUT back.
func parseRef(raw, ownHost string) (directory.Ref, error) {
	bad := badRequest("Invalid object identifier '%s'.", raw)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return directory.Ref{}, bad
	}
	if !graphHosts[strings.ToLower(u.Hostname())] && !strings.EqualFold(u.Host, ownHost) {
		return directory.Ref{}, bad
	}
	segs, err := splitPath(u.EscapedPath())
	if err != nil || len(segs) < 3 {
		return directory.Ref{}, bad
	}
	switch segs[0] {
	case "v1.0", "beta":
		segs = segs[1:]
	case "v2":
		segs = segs[2:] // v2/{tenant}/...
	default:
		return directory.Ref{}, bad
	}
	if len(segs) < 2 || len(segs) > 3 || segs[1] == "" {
		return directory.Ref{}, bad
	}
	kind, ok := entitySets[strings.ToLower(segs[0])]
	if !ok {
		return directory.Ref{}, bad
	}
	if len(segs) == 3 {
		cast := strings.TrimPrefix(segs[2], "Microsoft.DirectoryServices.")
		k, ok := directory.ParseKind(cast)
		if !ok {
			if !strings.EqualFold(cast, "Contact") {
				return directory.Ref{}, bad
			}
			k = directory.KindOrgContact
		}
		if kind != "" && kind != k {
			return directory.Ref{}, bad
		}
		kind = k
	}
	return directory.Ref{Kind: kind, ID: segs[1]}, nil
}

// refBody is the body of PUT manager/$ref and POST sponsors/$ref.
type refBody struct {
	ID *string `json:"@odata.id"`
}

func (s *Server) readRef(c *call, host string, body refBody) (directory.Ref, error) {
	if body.ID == nil || *body.ID == "" {
		return directory.Ref{}, badRequest("The request body must contain an @odata.id.")
	}
	return parseRef(*body.ID, host)
}
