package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/graphapi"
	"github.com/orgraph/orgraph/internal/store"
)

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
	if err := fs.Parse(args); err != nil {
		return err
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
	base := "http://" + ln.Addr().String()
	if *public != "" {
		base = *public
	}
	fmt.Fprintf(m.Stdout, "orgraph is serving Microsoft Graph at %s/v1.0 (and %s/beta)\n", base, base)
	fmt.Fprintf(m.Stdout, "tenant %s; get a token with:\n  TOKEN=$(orgraph token --data %s)\n  curl -H \"Authorization: Bearer $TOKEN\" %s/v1.0/users\n", tenant, sf.data, base)
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
