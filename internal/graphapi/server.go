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
	"os"
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
	// MaxInFlight caps the requests served at once; beyond it a request is answered 429 at once, before any
	// work, so a burst cannot pile up goroutines and database connections. 0: no cap.
	MaxInFlight int
	// Throttle, when set, limits each app and tenant as Graph does (see Throttle); nil: no throttling.
	Throttle *Throttle
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
	// slots holds a token per request in flight when MaxInFlight is set.
	slots     chan struct{}
	throttler *throttler

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
	if o.MaxInFlight > 0 {
		s.slots = make(chan struct{}, o.MaxInFlight)
	}
	if o.Throttle != nil {
		s.throttler = newThrottler(*o.Throttle, time.Now)
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

// RequestInfo is what the Graph API tells the code around it about one request, for access logs and metrics:
// the wrapping handler puts one in the request's context with WithRequestInfo, and reads it once ServeHTTP
// has returned.
type RequestInfo struct {
	// Route is the URL template that matched, as "/v1.0/users/{id}/manager/$ref" or "/beta/me/sponsors":
	// a label of bounded cardinality, unlike the path. "" when no route matched.
	Route string
	// RequestID is the request-id of the response's headers and of an error body's innerError.
	RequestID string
	// Error is the Graph error code of an error answer, "" for a success.
	Error string
	// Throttled names the limit a 429 enforced (LimitInFlight, LimitResourceUnits, …), "" otherwise.
	Throttled string
	// StoreUnavailable is set when the answer was a 503 because the database could not be reached.
	StoreUnavailable bool
}

type infoKey struct{}

// WithRequestInfo returns a context that makes ServeHTTP fill in the returned RequestInfo.
func WithRequestInfo(ctx context.Context) (context.Context, *RequestInfo) {
	info := &RequestInfo{}
	return context.WithValue(ctx, infoKey{}, info), info
}

func requestInfo(ctx context.Context) *RequestInfo {
	info, _ := ctx.Value(infoKey{}).(*RequestInfo)
	return info
}

// routeTemplate names a matched route for RequestInfo.Route.
func routeTemplate(rt *route, m *match) string {
	pattern := rt.pattern
	if m.me {
		pattern = append([]string{"me"}, pattern[2:]...)
	}
	return "/" + m.version + "/" + strings.Join(pattern, "/")
}

// ServeHTTP answers a Graph request: ids, the in-flight cap, recovery, authentication, routing, permission,
// throttling, then the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := ids{request: uuid.NewString(), client: r.Header.Get("client-request-id")}
	if id.client == "" {
		id.client = id.request
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	w.Header().Set("request-id", id.request)
	w.Header().Set("client-request-id", id.client)
	info := requestInfo(r.Context())
	if info != nil {
		info.RequestID = id.request
		// Requests refused before routing (no token, a full server) are labelled by their route all the same.
		defer func() {
			if info.Route == "" {
				if rt, m, err := resolve(s.routes, r.Method, r.URL.EscapedPath()); err == nil {
					info.Route = routeTemplate(rt, m)
				}
			}
		}()
	}
	if !s.acquire() {
		s.writeError(w, r, errInFlight)
		return
	}
	defer s.release()
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
	if info := requestInfo(r.Context()); info != nil {
		info.Route = routeTemplate(rt, m)
	}
	// A token of a deleted tenant is invalid whatever it asks for, so this comes before the permission check.
	if err := s.checkTenant(r.Context(), p.TenantID); err != nil {
		return err
	}
	if m.me {
		if !p.Delegated {
			return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: "/me request is only valid with delegated authentication flow."}
		}
		m.keys[0] = p.ObjectID
	}
	if !p.Allowed(rt.op) && !p.AllowedOn(rt.op, s.selfTarget(r.Context(), rt, m, p)) {
		return errDenied
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
	if err := s.throttle(w, r, rt, c); err != nil {
		return err
	}
	return rt.serve(w, r, c)
}

// selfTarget returns the signed-in user's id when the request is about that user's own object (by /me, id
// or userPrincipalName), where User.Read and User.ReadWrite suffice; otherwise "".
func (s *Server) selfTarget(ctx context.Context, rt *route, m *match, p *auth.Principal) string {
	if !p.Delegated || rt.pattern[0] != "users" || len(m.keys) == 0 {
		return ""
	}
	key := m.keys[0]
	if directory.NormalizeID(key) == p.ObjectID || (p.UPN != "" && strings.EqualFold(key, p.UPN)) {
		return p.ObjectID
	}
	if strings.Contains(key, "@") {
		// The token's upn may be missing or stale; the directory says whose name this is.
		var id string
		_ = s.dir.View(ctx, p.TenantID, func(tx directory.Tx) error {
			if u, err := tx.GetByUPN(key); err == nil {
				id = u.ID
			}
			return nil
		})
		if id == p.ObjectID {
			return id
		}
	}
	return ""
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
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The server's read timeout ran out while the client was still sending.
			return &Error{Status: http.StatusRequestTimeout, Code: codeBadRequest, Message: "The request body did not arrive in time."}
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
