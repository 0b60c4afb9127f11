package transport

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// tlsServer is an HTTP/2 TLS server that counts the connections it
// accepts and records the Authorization headers it receives.
func tlsServer(t *testing.T) (srv *httptest.Server, conns *atomic.Int32, auth func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	conns = &atomic.Int32{}
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, conns, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func caOf(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPredialHandsTheConnectionToTheRequests: the connection is dialled
// before any request, carries the token only once a request is sent, and
// every request of the config's clients goes over it (HTTP/2), hardened.
func TestPredialHandsTheConnectionToTheRequests(t *testing.T) {
	srv, conns, auth := tlsServer(t)
	base := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: caOf(srv)}}
	p := Predial(context.Background(), base)
	if p == nil {
		t.Fatal("Predial returned nil for an https server with a CA")
	}
	waitFor(t, "the connection dialled ahead", func() bool { return conns.Load() == 1 })
	if got := auth(); len(got) != 0 {
		t.Fatalf("requests before any was sent: %q", got)
	}
	cfg := rest.CopyConfig(base)
	cfg.BearerToken = "the-token"
	cfg = Harden(cfg, Options{})
	used := p.Config(cfg)
	if used == cfg || used.Transport == nil {
		t.Fatal("Config did not use the connection dialled ahead")
	}
	if ok, err := IsHardened(used); err != nil || !ok {
		t.Fatalf("IsHardened = %v, %v; want the hardening kept", ok, err)
	}
	client, err := rest.HTTPClientFor(used)
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		resp, err := client.Get(srv.URL + "/api")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
	}
	// The first request takes the connection; those after it share it.
	// (Requests sent at once before any connection is up each dial, in
	// net/http as in client-go's own transport.)
	get()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(get)
	}
	wg.Wait()
	if n := conns.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want the one dialled ahead", n)
	}
	for _, a := range auth() {
		if a != "Bearer the-token" {
			t.Errorf("Authorization %q, want the token", a)
		}
	}
	p.Close()
}

// TestPredialVerifiesTheServer: a server the config does not trust fails
// the request as client-go's own transport would, and the opt-out
// (Insecure) is honoured.
func TestPredialVerifiesTheServer(t *testing.T) {
	srv, _, auth := tlsServer(t)
	cfg := &rest.Config{Host: srv.URL, BearerToken: "the-token"}
	p := Predial(context.Background(), rest.AnonymousClientConfig(cfg))
	client, err := rest.HTTPClientFor(p.Config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(srv.URL + "/api")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("error %v, want a certificate verification failure", err)
	}
	if got := auth(); len(got) != 0 {
		t.Errorf("an untrusted server received %q", got)
	}

	insecure := &rest.Config{Host: srv.URL, BearerToken: "the-token", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	p = Predial(context.Background(), rest.AnonymousClientConfig(insecure))
	client, err = rest.HTTPClientFor(p.Config(insecure))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL + "/api")
	if err != nil {
		t.Fatalf("with Insecure: %v", err)
	}
	resp.Body.Close()
}

// TestPredialOnlyWhereClientGoWouldDialAlike: nothing is dialled ahead
// where the connection could differ from client-go's, and a config for
// another server or other TLS settings is left as it is.
func TestPredialOnlyWhereClientGoWouldDialAlike(t *testing.T) {
	srv, _, _ := tlsServer(t)
	ca := caOf(srv)
	for name, cfg := range map[string]*rest.Config{
		"plain http":         {Host: "http://127.0.0.1:1"},
		"client certificate": {Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca, CertData: []byte("cert"), KeyData: []byte("key")}},
		"custom dialer":      {Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, Dial: (&net.Dialer{}).DialContext},
	} {
		if p := Predial(context.Background(), cfg); p != nil {
			t.Errorf("%s: Predial dialled ahead", name)
		}
	}
	// A proxy from the environment is found as client-go finds it
	// (http.ProxyFromEnvironment, which reads the environment once per
	// process, so it is not set here); one in the config is refused alike.
	withProxy := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, Proxy: func(*http.Request) (*url.URL, error) {
		return url.Parse("http://proxy.invalid:3128")
	}}
	if p := Predial(context.Background(), withProxy); p != nil {
		t.Error("Predial dialled ahead past a proxy")
	}
	t.Run("DISABLE_HTTP2", func(t *testing.T) {
		t.Setenv("DISABLE_HTTP2", "1")
		if p := Predial(context.Background(), &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}); p != nil {
			t.Error("Predial dialled ahead with HTTP/2 disabled")
		}
	})
	p := Predial(context.Background(), &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	defer p.Close()
	for name, cfg := range map[string]*rest.Config{
		"another server":      {Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAData: ca}},
		"another CA":          {Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: []byte("other")}},
		"another server name": {Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca, ServerName: "other"}},
		"insecure":            {Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca, Insecure: true}},
	} {
		if got := p.Config(cfg); got != cfg {
			t.Errorf("%s: Config used the connection dialled for %s", name, srv.URL)
		}
	}
	var none *Predialed
	cfg := &rest.Config{Host: srv.URL}
	if none.Config(cfg) != cfg {
		t.Error("a nil Predialed changed the config")
	}
	none.Close()
}
