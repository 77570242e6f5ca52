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

// shutdownGrace is how long in-flight requests may run after SIGTERM before the server closes anyway.
const shutdownGrace = 20 * time.Second

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *adminKey == "" {
		*adminKey = os.Getenv(envAdminKey)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	st, tenant, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(m.Stderr, nil))
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

	api := graphapi.New(graphapi.Options{
		Store:              st,
		Verifier:           auth.NewVerifier(st.SigningKeys, time.Now),
		PublicURL:          *public,
		Logger:             log,
		LenientConsistency: *lenient,
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

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
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
	if sf.db != "" || (!sf.given("data") && os.Getenv(envDB) != "") {
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
	// Stop accepting, let in-flight requests finish, then close the store (deferred above).
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
