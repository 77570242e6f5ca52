package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/certs"
	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/graphapi"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/store"
)

// envAdminKey names the variable that gives --admin-key its value, so the key need not be on a command line.
const envAdminKey = "ORGRAPH_ADMIN_KEY"

// shutdownGrace is how long in-flight requests may run after SIGTERM before the server closes anyway (the
// default of --shutdown-timeout).
const shutdownGrace = 20 * time.Second

// maxHeaderBytes caps a request's line and headers; beyond it net/http answers 431. Tokens are a few KB.
const maxHeaderBytes = 64 << 10

func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.newFlags("serve")
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	withDemo := fs.Bool("demo", false, "load the demo organisation into an empty default tenant")
	public := fs.String("public-url", "", "scheme and host clients use, when a proxy sits in front (default: taken from each request)")
	lenient := fs.Bool("lenient-consistency", false, "accept $levels without the ConsistencyLevel: eventual header")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a certificate generated into the data folder (see orgraph cert)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM chain) instead of a generated one")
	tlsKey := fs.String("tls-key", "", "private key (PEM) of --tls-cert")
	adminKey := fs.String("admin-key", "", "enable the tenant admin API at /admin/ for this bearer key (default $"+envAdminKey+"; none: disabled)")
	logFormat := fs.String("log-format", "text", "log format on standard error: text or json")
	logLevel := fs.String("log-level", "info", "least severe log records written: debug, info (one line per request), warn or error")
	maxInFlight := fs.Int("max-inflight", 1024, "Graph API requests served at once; more are answered 429 (0: no cap)")
	throttleSize := fs.String("throttle", "", "throttle each app and tenant as Graph does for a small, medium or large tenant (default: off)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "time to receive a request's headers")
	readTimeout := fs.Duration("read-timeout", 60*time.Second, "time to receive a whole request, body included")
	writeTimeout := fs.Duration("write-timeout", 120*time.Second, "time from the end of a request's headers to the end of its answer")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "time an idle keep-alive connection stays open")
	requestTimeout := fs.Duration("request-timeout", 60*time.Second, "time a request may work before it is answered 503 (shorter than --write-timeout)")
	shutdownTimeout := fs.Duration("shutdown-timeout", shutdownGrace, "time in-flight requests may finish after SIGTERM before their connections are closed")
	trustedFile := fs.String("trusted-issuers", "", "JSON file of external OpenID Connect issuers (your own identity provider) whose access tokens are accepted besides orgraph's: "+
		`{"issuers":[{"issuer":URL, "tenant":ID (or "claims":{"tid":CLAIM}), "claims":{"oid"|"upn"|"scp"|"roles"|"appid":CLAIM}, `+
		`optional "jwksUri":URL, "audiences":[…], "algorithms":[…], "scopes"|"roles":[fixed Graph permissions]}]}; see the README`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *adminKey == "" {
		*adminKey = os.Getenv(envAdminKey)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	var throttle *graphapi.Throttle
	if *throttleSize != "" {
		t, ok := graphapi.Throttles[*throttleSize]
		if !ok {
			return fmt.Errorf("serve: --throttle %q: want small, medium or large", *throttleSize)
		}
		throttle = &t
	}
	if *writeTimeout > 0 && (*requestTimeout <= 0 || *requestTimeout >= *writeTimeout) {
		return errors.New("serve: --request-timeout must be shorter than --write-timeout, or a slow request loses its answer")
	}
	var trusted []auth.TrustedIssuer
	if *trustedFile != "" {
		data, err := os.ReadFile(*trustedFile)
		if err != nil {
			return fmt.Errorf("serve: --trusted-issuers: %w", err)
		}
		if trusted, err = auth.ParseTrustedIssuers(data); err != nil {
			return fmt.Errorf("serve: --trusted-issuers %s: %w", *trustedFile, err)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level %q: want debug, info, warn or error", *logLevel)
	}
	var log *slog.Logger
	switch opts := (&slog.HandlerOptions{Level: level}); *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(m.Stderr, opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(m.Stderr, opts))
	default:
		return fmt.Errorf("serve: --log-format %q: want text or json", *logFormat)
	}
	if !sf.usesPostgres() {
		// A restore must not replace the database under a running server: servers share the folder's lock,
		// a restore takes it alone.
		unlock, err := lockData(sf.data, false)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer unlock()
	}
	st, tenant, err := sf.open(ctx)
	if err != nil {
		return err
	}
	storeOpen := true
	defer func() {
		if storeOpen {
			st.Close()
		}
	}()
	if *withDemo {
		if err := loadDemo(ctx, st, tenant); err != nil {
			return err
		}
	}

	var tlsConfig *tls.Config
	switch {
	case *tlsCert != "":
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return err
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case *useTLS:
		host, _, _ := net.SplitHostPort(*addr)
		cert, err := certs.Ensure(sf.data, host)
		if err != nil {
			return err
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	verifier, err := newVerifier(ctx, st, trusted, log)
	if err != nil {
		return fmt.Errorf("serve: --trusted-issuers %s: %w", *trustedFile, err)
	}
	api := graphapi.New(graphapi.Options{
		Store:              st,
		Verifier:           verifier,
		PublicURL:          *public,
		Logger:             log,
		LenientConsistency: *lenient,
		MaxInFlight:        *maxInFlight,
		Throttle:           throttle,
	})
	mux := http.NewServeMux()
	mux.Handle("/v1.0/", api)
	mux.Handle("/beta/", api)
	admin := identity.NewAdmin(st, *adminKey)
	admin.OnDelete = api.ForgetTenant
	mux.Handle("/admin/", admin)
	// The identity endpoints live under /{tenant}/…, so they take whatever the more specific patterns leave.
	mux.Handle("/", identity.New(identity.Options{Store: st, PublicURL: *public, Logger: log}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	obs := newObserver(log)
	mux.Handle("GET /metrics", obs.metrics())

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           obs.wrap(withDeadline(mux, *requestTimeout)),
		ReadHeaderTimeout: *readHeaderTimeout,
		ReadTimeout:       *readTimeout,
		WriteTimeout:      *writeTimeout,
		IdleTimeout:       *idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}
	base := scheme + "://" + ln.Addr().String()
	if *public != "" {
		base = *public
	}
	fmt.Fprintf(m.Stdout, "orgraph is serving Microsoft Graph at %s/v1.0 (and %s/beta)\n", base, base)
	// The hint never repeats a DSN: it may hold a password.
	where := "--data " + sf.data
	if sf.usesPostgres() {
		where = "--db \"$" + envDB + "\""
	}
	fmt.Fprintf(m.Stdout, "tenant %s; get a token with:\n  TOKEN=$(orgraph token %s)\n  curl -H \"Authorization: Bearer $TOKEN\" %s/v1.0/users\n", tenant, where, base)
	fmt.Fprintf(m.Stdout, "or as an app, from the token endpoint %s/%s/oauth2/v2.0/token (orgraph tenant create --json makes one)\n", base, tenant)
	if m.ready != nil {
		m.ready <- base
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish, then close the store, so that every answered write
	// is in it and nothing is cut off halfway.
	log.Info("shutting down: no new connections; waiting for in-flight requests", "timeout", *shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// The deadline passed: cut the remaining connections. Their requests' transactions either commit or
		// roll back; their clients get no answer, so they cannot take a write for acknowledged.
		srv.Close()
		return fmt.Errorf("serve: requests still running after --shutdown-timeout %s: %w", *shutdownTimeout, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	storeOpen = false
	if err := st.Close(); err != nil {
		return fmt.Errorf("serve: close the store: %w", err)
	}
	log.Info("stopped: every request answered, store closed")
	return nil
}

// newVerifier returns the verifier of orgraph's own tokens and, if any are trusted, of external issuers'. A
// trusted issuer's fixed tenant must exist, or every one of its tokens would be refused. The issuers' keys are
// fetched beside the server, so that an IdP that is down shows in the log without keeping orgraph from serving
// its own tokens; what fails is fetched again when a token needs it.
func newVerifier(ctx context.Context, st store.Store, trusted []auth.TrustedIssuer, log *slog.Logger) (*auth.Verifier, error) {
	if len(trusted) == 0 {
		return auth.NewVerifier(st.SigningKeys, time.Now), nil
	}
	for _, t := range trusted {
		if t.Tenant == "" {
			continue
		}
		if _, err := st.Tenant(ctx, t.Tenant); err != nil {
			return nil, fmt.Errorf("issuer %s: tenant %s: %w", t.Issuer, t.Tenant, err)
		}
	}
	v, err := auth.NewTrustingVerifier(st.SigningKeys, time.Now, trusted, auth.TrustOptions{LookupUPN: userByUPN(st), Logger: log})
	if err != nil {
		return nil, err
	}
	go func() {
		if err := v.FetchTrustedKeys(ctx); err != nil {
			log.Warn("trusted issuers: keys not fetched at start-up; fetched again when a token needs them", "err", err)
			return
		}
		log.Info("trusted issuers: keys fetched", "issuers", len(trusted))
	}()
	return v, nil
}

// userByUPN finds a delegated external token's user by userPrincipalName, for issuers whose sub is not an
// orgraph object id.
func userByUPN(st store.Store) auth.UserLookup {
	return func(ctx context.Context, tenant, upn string) (string, error) {
		var id string
		err := st.View(ctx, tenant, func(tx directory.Tx) error {
			o, err := tx.GetByUPN(upn)
			if err != nil {
				return err
			}
			id = o.ID
			return nil
		})
		if errors.Is(err, directory.ErrNotFound) {
			return "", auth.ErrUnknownUser
		}
		return id, err
	}
}

// loadDemo fills an empty default tenant with the demo organisation; a tenant with users is left alone,
// so --demo on every start is harmless.
func loadDemo(ctx context.Context, st store.Store, tenant string) error {
	var n int
	err := st.View(ctx, tenant, func(tx directory.Tx) (err error) {
		n, err = tx.Count(directory.ListQuery{})
		return err
	})
	if err != nil || n > 0 {
		return err
	}
	return demo.Load(ctx, directory.NewService(st), tenant)
}
