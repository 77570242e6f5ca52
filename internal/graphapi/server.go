// Package graphapi serves orgraph's directory over HTTP as Microsoft Graph does: Graph's URLs under /v1.0 and
// /beta, its JSON shapes and @odata annotations, its permission checks and its error bodies. Handlers return
// errors; one function (toHTTP) turns every error into Graph's status and code, so no handler writes an error
// body of its own. The package holds no state of its own: everything lives in the store, so any number of
// servers can share one database.
package graphapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store"
)

// Options configures a Server.
type Options struct {
	Store    store.Store
	Verifier *auth.Verifier
	// PublicURL is the scheme and host clients use (https://directory.example.com); when empty it is taken
	// from each request, which is right unless a proxy rewrites the host.
	PublicURL string
	Logger    *slog.Logger
	// MaxBodyBytes caps request bodies (after gzip decoding); 0 means 4 MiB, Graph's own limit.
	MaxBodyBytes int64
	// LenientConsistency accepts $levels without the ConsistencyLevel: eventual header that Graph's
	// documentation requires; by default orgraph refuses it so that the omission is caught before production.
	LenientConsistency bool
}

// Server is the Graph API handler.
type Server struct {
	store   store.Store
	dir     *directory.Service
	verify  *auth.Verifier
	public  string
	log     *slog.Logger
	maxBody int64
	lenient bool
	routes  []route

	tenantsMu sync.Mutex
	tenants   map[string]time.Time // tenant id → until when it is known to exist
}

// New returns a Server.
func New(o Options) *Server {
	s := &Server{
		store:   o.Store,
		dir:     directory.NewService(o.Store),
		verify:  o.Verifier,
		public:  strings.TrimRight(o.PublicURL, "/"),
		log:     o.Logger,
		maxBody: o.MaxBodyBytes,
		lenient: o.LenientConsistency,
		tenants: map[string]time.Time{},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.maxBody <= 0 {
		s.maxBody = 4 << 20
	}
	s.routes = s.routeTable()
	return s
}

// call is what a handler knows about the request beyond net/http's view of it.
type call struct {
	*match
	principal *auth.Principal
	tenant    string
	query     *odata.Query
	// path is the request path below the version segment, as the client escaped it (for paging links).
	path string
	// base is the absolute service root, e.g. https://host/v1.0, for @odata.context and links.
	base string
	// eventual: the client sent ConsistencyLevel: eventual, which unlocks Graph's advanced queries.
	eventual bool
	lenient  bool
}

type ctxKey struct{}

type ids struct{ request, client string }

func requestIDs(ctx context.Context) ids {
	v, _ := ctx.Value(ctxKey{}).(ids)
	return v
}

// ServeHTTP answers a Graph request: ids, recovery, authentication, routing, permission, then the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := ids{request: uuid.NewString(), client: r.Header.Get("client-request-id")}
	if id.client == "" {
		id.client = id.request
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	w.Header().Set("request-id", id.request)
	w.Header().Set("client-request-id", id.client)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}
	}()
	if err := s.serve(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	rt, m, err := resolve(s.routes, r.Method, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	allowed := p.Allowed(rt.op)
	if m.me {
		if !p.Delegated {
			return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "/me request is only valid with delegated authentication flow."}
		}
		m.keys[0] = p.ObjectID
		// User.Read and User.ReadWrite reach only the signed-in user's own object and relationships.
		allowed = p.AllowedOn(rt.op, p.ObjectID)
	}
	if !allowed {
		return errDenied
	}
	if err := s.checkTenant(r.Context(), p.TenantID); err != nil {
		return err
	}
	if err := s.checkRoles(r.Context(), p, rt.op); err != nil {
		return err
	}
	q, err := odata.Parse(r.URL.RawQuery, m.version == "beta")
	if err != nil {
		return err
	}
	c := &call{
		match:     m,
		principal: p,
		tenant:    p.TenantID,
		query:     q,
		path:      strings.TrimPrefix(r.URL.EscapedPath(), "/"+m.version),
		base:      s.baseURL(r) + "/" + m.version,
		eventual:  strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual"),
		lenient:   s.lenient,
	}
	return rt.serve(w, r, c)
}

// checkRoles enforces the directory roles Graph requires of a delegated caller on some writes (sponsors:
// Directory Writers, User Administrator or Global Administrator) on top of the token's permissions.
func (s *Server) checkRoles(ctx context.Context, p *auth.Principal, op auth.Operation) error {
	perm := auth.Permissions[op]
	if !p.Delegated || !perm.NeedsRole() {
		return nil
	}
	roles, err := s.store.DirectoryRoles(ctx, p.TenantID, p.ObjectID)
	if err != nil {
		return err
	}
	for _, have := range roles {
		if slices.Contains(perm.DelegatedRoles, have) {
			return nil
		}
	}
	return errDenied
}

// checkTenant refuses a token whose tenant has been deleted. Tenants that exist are remembered for a few
// seconds, so the check costs a store read only now and then; a deletion therefore takes up to
// tenantCacheTTL to reach other nodes, during which the deleted tenant reads as empty.
func (s *Server) checkTenant(ctx context.Context, id string) error {
	now := time.Now()
	s.tenantsMu.Lock()
	until, ok := s.tenants[id]
	s.tenantsMu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	if _, err := s.store.Tenant(ctx, id); err != nil {
		if errors.Is(err, store.ErrTenantNotFound) {
			return &Error{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: "Access token validation failure. The token's tenant does not exist.", Cause: err}
		}
		return err
	}
	s.tenantsMu.Lock()
	if len(s.tenants) >= maxCachedTenants {
		clear(s.tenants)
	}
	s.tenants[id] = now.Add(tenantCacheTTL)
	s.tenantsMu.Unlock()
	return nil
}

// ForgetTenant drops a tenant from the cache of known tenants at once (after deleting it through this node).
func (s *Server) ForgetTenant(id string) {
	s.tenantsMu.Lock()
	delete(s.tenants, id)
	s.tenantsMu.Unlock()
}

const (
	tenantCacheTTL   = 5 * time.Second
	maxCachedTenants = 100_000
)

func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: "Access token is empty."}
	}
	return s.verify.Verify(r.Context(), strings.TrimSpace(token))
}

func (s *Server) baseURL(r *http.Request) string {
	if s.public != "" {
		return s.public
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// decodeBody reads a JSON object body. The Go SDK gzips every body, so gzip is accepted; anything else that
// is not identity gets a 415, after which the SDK resends the body uncompressed.
func (s *Server) decodeBody(r *http.Request, v any) error {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, s.maxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		}
		defer zr.Close()
		// The cap applies to the decoded size too, so a small gzip bomb cannot grow past it.
		body = io.LimitReader(zr, s.maxBody+1)
	default:
		return &Error{Status: http.StatusUnsupportedMediaType, Code: codeBadRequest, Message: fmt.Sprintf("Content-Encoding '%s' is not supported.", enc)}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if int64(len(data)) > s.maxBody {
		return &http.MaxBytesError{Limit: s.maxBody}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return badRequest("Empty Payload. JSON content expected.")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(v); err != nil || dec.More() {
		return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return nil
}
