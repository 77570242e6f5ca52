// Package identity is orgraph's stand-in for Microsoft's identity platform: the OAuth 2.0 token endpoint
// (client credentials for apps, resource-owner password for users), the OpenID configuration and signing
// keys that Azure Identity and MSAL read first, and the realm discovery the password flow asks for. It issues
// the same access tokens `orgraph token` mints, so an app configured with a custom authority host gets its
// tokens from orgraph exactly as it would from login.microsoftonline.com.
package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// Options configures a Server.
type Options struct {
	Store store.Store
	// PublicURL is the scheme and host clients use; when empty it is taken from each request, which MSAL
	// needs: the issuer and endpoints must name the host and port the client used.
	PublicURL string
	Logger    *slog.Logger
	// TokenTTL is the lifetime of issued tokens; 0 means an hour, as Entra ID's default.
	TokenTTL time.Duration
	// MaxFailures is how many failed sign-ins one client id or user name may make per minute before further
	// attempts are refused without being checked; 0 means 10.
	MaxFailures int
}

// Server serves the identity endpoints under /{tenant}/….
type Server struct {
	store    store.Store
	public   string
	log      *slog.Logger
	ttl      time.Duration
	failures *limiter
}

// New returns a Server.
func New(o Options) *Server {
	s := &Server{store: o.Store, public: strings.TrimRight(o.PublicURL, "/"), log: o.Logger, ttl: o.TokenTTL}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ttl <= 0 {
		s.ttl = time.Hour
	}
	max := o.MaxFailures
	if max <= 0 {
		max = 10
	}
	s.failures = newLimiter(max, time.Minute)
	return s
}

// ServeHTTP routes /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys,
// /{tenant}/oauth2/v2.0/token and /common/UserRealm/{upn}; anything else is a 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := segs[0], strings.Join(segs[1:], "/")
	switch {
	case r.Method == http.MethodGet && (rest == "v2.0/.well-known/openid-configuration" || rest == ".well-known/openid-configuration"):
		s.openIDConfiguration(w, r, tenant, strings.HasPrefix(rest, "v2.0"))
	case r.Method == http.MethodGet && (rest == "discovery/v2.0/keys" || rest == "discovery/keys"):
		s.keys(w, r)
	case r.Method == http.MethodPost && (rest == "oauth2/v2.0/token" || rest == "oauth2/token"):
		s.token(w, r, tenant)
	case r.Method == http.MethodGet && len(segs) == 3 && strings.EqualFold(segs[1], "UserRealm"):
		s.userRealm(w, r, segs[2])
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) base(r *http.Request) string {
	if s.public != "" {
		return s.public
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// openIDConfiguration is the discovery document. MSAL checks that the issuer and endpoints use the host the
// client asked, so they are built from the request.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request, tenant string, v2 bool) {
	base := s.base(r) + "/" + url.PathEscape(tenant)
	issuer, token := base+"/v2.0", base+"/oauth2/v2.0/token"
	authorize := base + "/oauth2/v2.0/authorize"
	keys := base + "/discovery/v2.0/keys"
	if !v2 {
		issuer, token, authorize, keys = auth.Issuer(tenant), base+"/oauth2/token", base+"/oauth2/authorize", base+"/discovery/keys"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        token,
		"authorization_endpoint":                authorize,
		"jwks_uri":                              keys,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"grant_types_supported":                 []string{"client_credentials", "password"},
		"tenant_region_scope":                   nil,
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.store.SigningKeys(r.Context())
	if err != nil {
		s.log.Error("signing keys", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, oauthError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."))
		return
	}
	doc, err := auth.JWKS(keys)
	if err != nil {
		s.log.Error("jwks", "err", err)
		writeJSON(w, http.StatusInternalServerError, oauthError("server_error", 90000, "The signing keys could not be read."))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(doc)
}

// userRealm answers MSAL's home realm discovery for the password grant: every account is a managed one.
func (s *Server) userRealm(w http.ResponseWriter, r *http.Request, upn string) {
	domain := upn
	if at := strings.LastIndexByte(upn, '@'); at >= 0 {
		domain = upn[at+1:]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ver":                 "1.0",
		"account_type":        "Managed",
		"domain_name":         domain,
		"cloud_instance_name": "microsoftonline.com",
		"cloud_audience_urn":  "urn:federation:MicrosoftOnline",
	})
}

// oauthErr is an OAuth 2.0 error as Entra ID words it: an error code, an AADSTS number and a description.
type oauthErr struct {
	status int
	code   string
	aadsts int
	msg    string
}

func (e *oauthErr) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.msg) }

func oauthError(code string, aadsts int, msg string) map[string]any {
	trace, corr := uuid.NewString(), uuid.NewString()
	now := time.Now().UTC()
	return map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
	}
}

var (
	errUnsupportedGrant = &oauthErr{http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."}
	errBadSecret        = &oauthErr{http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."}
	errBadPassword      = &oauthErr{http.StatusBadRequest, "invalid_grant", 50126, "Error validating credentials due to invalid username or password."}
	errLocked           = &oauthErr{http.StatusBadRequest, "invalid_grant", 50053, "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password."}
	errClientLocked     = &oauthErr{http.StatusUnauthorized, "invalid_client", 50053, "Too many failed attempts for this client. Try again later."}
)

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", 900144, "The request body must contain a valid form."))
		return
	}
	resp, err := s.issue(r.Context(), r, tenant)
	if err != nil {
		var oe *oauthErr
		if errors.As(err, &oe) {
			s.log.Info("token refused", "tenant", tenant, "client_id", r.PostForm.Get("client_id"), "error", oe.code, "aadsts", oe.aadsts)
			writeJSON(w, oe.status, oauthError(oe.code, oe.aadsts, oe.msg))
			return
		}
		s.log.Error("token", "tenant", tenant, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, oauthError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// graphResources are the names a scope may give Microsoft Graph by.
var graphResources = []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}

// oidcScopes are requested by MSAL alongside the resource's and carry no permission.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

func (s *Server) issue(ctx context.Context, r *http.Request, tenant string) (map[string]any, error) {
	form := r.PostForm
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = form.Get("client_id"), form.Get("client_secret")
	}
	clientID = directory.NormalizeID(clientID) // client ids are GUIDs, which Entra matches in any case
	if clientID == "" {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."}
	}
	if _, err := uuid.Parse(tenant); err != nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant)}
	}
	tenant = strings.ToLower(tenant)
	if _, err := s.store.Tenant(ctx, tenant); errors.Is(err, store.ErrTenantNotFound) {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenant)}
	} else if err != nil {
		return nil, err
	}
	if !s.failures.allow(tenant + "/" + clientID) {
		return nil, errClientLocked
	}
	app, err := s.store.App(ctx, tenant, clientID)
	if errors.Is(err, store.ErrAppNotFound) {
		s.failures.fail(tenant + "/" + clientID)
		return nil, &oauthErr{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant)}
	} else if err != nil {
		return nil, err
	}
	scopes := strings.Fields(form.Get("scope"))
	var c auth.Claims
	switch form.Get("grant_type") {
	case "client_credentials":
		if !auth.CheckSecret(app.SecretHash, secret) {
			s.failures.fail(tenant + "/" + clientID)
			return nil, errBadSecret
		}
		if err := checkDefaultScope(scopes); err != nil {
			return nil, err
		}
		c = auth.Claims{TenantID: tenant, ObjectID: app.ClientID, AppID: app.ClientID, Roles: app.Roles}
	case "password":
		// A confidential app must prove itself too; a public one (no secret) sends only its id.
		if len(app.SecretHash) > 0 && !auth.CheckSecret(app.SecretHash, secret) {
			s.failures.fail(tenant + "/" + clientID)
			return nil, errBadSecret
		}
		user, err := s.signIn(ctx, tenant, form.Get("username"), form.Get("password"))
		if err != nil {
			return nil, err
		}
		granted, err := delegatedScopes(scopes, app)
		if err != nil {
			return nil, err
		}
		c = auth.Claims{TenantID: tenant, ObjectID: user.ID, AppID: app.ClientID, Scopes: granted, UPN: user.String("userPrincipalName")}
	default:
		return nil, errUnsupportedGrant
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil || len(keys) == 0 {
		return nil, fmt.Errorf("signing keys: %w (%d keys)", err, len(keys))
	}
	tok, err := auth.Mint(keys[0], c, time.Now(), s.ttl)
	if err != nil {
		return nil, err
	}
	secs := int(s.ttl / time.Second)
	// No "scope" in the answer: MSAL compares it with what it asked for and fails on a difference, and
	// no id_token or refresh_token, which MSAL would then try to use (NOTES.md).
	resp := map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok}
	if form.Get("client_info") == "1" && c.Scopes != nil {
		info, _ := json.Marshal(map[string]string{"uid": c.ObjectID, "utid": tenant})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(info)
	}
	return resp, nil
}

// checkDefaultScope requires what Entra requires of the client-credentials flow: Graph's /.default.
func checkDefaultScope(scopes []string) error {
	for _, sc := range scopes {
		if oidcScopes[sc] {
			continue
		}
		for _, res := range graphResources {
			if sc == res+"/.default" {
				return nil
			}
		}
	}
	return &oauthErr{http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI): https://graph.microsoft.com/.default"}
}

// delegatedScopes turns the requested scopes into the token's scp: /.default means every permission
// consented for the app; named Graph permissions must each have been consented.
func delegatedScopes(requested []string, app store.App) ([]string, error) {
	var out []string
	for _, sc := range requested {
		if oidcScopes[sc] {
			continue
		}
		name := sc
		for _, res := range graphResources {
			name = strings.TrimPrefix(name, res+"/")
		}
		if name == ".default" {
			out = append(out, app.Scopes...)
			continue
		}
		consented := false
		for _, have := range app.Scopes {
			consented = consented || strings.EqualFold(have, name)
		}
		if !consented {
			return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource. Missing scope: %s.", app.ClientID, name)}
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter naming a Microsoft Graph permission."}
	}
	return out, nil
}

// signIn checks a user's password; every failure looks the same to the caller, so it cannot learn which
// user names exist. Failures count against the name given and, once it resolves, against the account, so
// spelling one account differently (its id, another case) earns no extra guesses.
func (s *Server) signIn(ctx context.Context, tenant, username, password string) (*directory.Object, error) {
	nameKey := tenant + "/name/" + strings.ToLower(username)
	if !s.failures.allow(nameKey) {
		return nil, errLocked
	}
	var user *directory.Object
	err := s.store.View(ctx, tenant, func(tx directory.Tx) (err error) {
		user, err = directory.Resolve(tx, directory.KindUser, username)
		return err
	})
	if errors.Is(err, directory.ErrNotFound) {
		s.failures.fail(nameKey)
		return nil, errBadPassword
	} else if err != nil {
		return nil, err
	}
	accountKey := tenant + "/user/" + user.ID
	if !s.failures.allow(accountKey) {
		return nil, errLocked
	}
	hash, err := s.store.PasswordHash(ctx, tenant, user.ID)
	if err != nil {
		return nil, err
	}
	v, _ := user.Prop("accountEnabled")
	if enabled, ok := v.(bool); !auth.CheckPassword(hash, password) || (ok && !enabled) {
		s.failures.fail(nameKey)
		s.failures.fail(accountKey)
		return nil, errBadPassword
	}
	return user, nil
}

// limiter counts failures per key in fixed windows, so guessing secrets or passwords is bounded per node.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	counts map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, d time.Duration) *limiter {
	return &limiter{max: max, window: d, counts: map[string]*window{}}
}

// allow reports whether key may try again.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.counts[key]
	if w == nil || time.Since(w.start) > l.window {
		return true
	}
	return w.n < l.max
}

// fail records a failed attempt for key.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.counts) > 100_000 {
		for k, w := range l.counts {
			if now.Sub(w.start) > l.window {
				delete(l.counts, k)
			}
		}
	}
	w := l.counts[key]
	if w == nil || now.Sub(w.start) > l.window {
		w = &window{start: now}
		l.counts[key] = w
	}
	w.n++
}
