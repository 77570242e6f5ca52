package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestEnsureServesTrustedTLS: a client that trusts only the CA reaches the server at 127.0.0.1 and localhost,
// and a second Ensure reuses the files instead of making a new CA (which would break the client's trust).
func TestEnsureServesTrustedTLS(t *testing.T) {
	dir := t.TempDir()
	cert, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Certificate[0]) != string(cert.Certificate[0]) {
		t.Fatal("Ensure made a new certificate although one existed")
	}
	caPEM, err := CA(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		resp, err := client.Get("https://" + host + ":" + port + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
	}
}
