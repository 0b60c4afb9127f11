package transport

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// Predialed is a TLS connection to the API server dialled and handshaken
// ahead of the requests that will use it, so that the handshake overlaps
// the caller's lookup of a token (issue 19) instead of following it. It
// carries nothing until a request is sent on it: the handshake verifies
// the server exactly as client-go would for the same config
// (rest.TLSConfigFor), and no credential is part of it.
type Predialed struct {
	host      string
	tlsConfig *tls.Config
	tls       rest.TLSClientConfig
	addr      string
	dialer    *tls.Dialer
	ready     chan net.Conn
	once      sync.Once
}

// Predial starts dialling cfg's server in the background, for the clients
// Config later builds. It returns nil, dialling nothing, where a
// connection dialled ahead could differ from the one client-go would make:
// plain http, a proxy for the server (from cfg or the environment), a
// custom transport or dialer, client certificates (only a bearer token's
// config, with no certificate, is meant), or DISABLE_HTTP2, which changes
// the protocols a connection negotiates. ctx bounds the dial.
func Predial(ctx context.Context, cfg *rest.Config) *Predialed {
	if !predialable(cfg) {
		return nil
	}
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	if proxy, err := utilnet.NewProxierWithNoProxyCIDR(http.ProxyFromEnvironment)(&http.Request{URL: u}); err != nil || proxy != nil {
		return nil
	}
	if os.Getenv("DISABLE_HTTP2") != "" {
		return nil
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil || tlsConfig == nil {
		return nil
	}
	tlsConfig = tlsConfig.Clone()
	if len(tlsConfig.NextProtos) == 0 {
		// What client-go's transport offers once HTTP/2 is configured.
		tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	p := &Predialed{
		host:      cfg.Host,
		tlsConfig: tlsConfig,
		tls:       cfg.TLSClientConfig,
		addr:      addr,
		// client-go's dialer settings, and its handshake timeout.
		dialer: &tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, Config: tlsConfig},
		ready:  make(chan net.Conn, 1),
	}
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := p.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			// The request dials again and reports its own error.
			conn = nil
		}
		p.ready <- conn
	}()
	return p
}

// predialable reports whether cfg makes its connections as client-go's
// own transport does, with no client certificate.
func predialable(cfg *rest.Config) bool {
	t := cfg.TLSClientConfig
	return cfg.Transport == nil && cfg.Dial == nil && cfg.Proxy == nil && cfg.ExecProvider == nil && cfg.AuthProvider == nil &&
		len(t.CertData) == 0 && t.CertFile == "" && len(t.KeyData) == 0 && t.KeyFile == ""
}

// Config returns a copy of cfg whose clients send their first request on
// the connection dialled ahead, when cfg's server and TLS settings are
// those it was dialled with; otherwise cfg itself. p may be nil.
func (p *Predialed) Config(cfg *rest.Config) *rest.Config {
	if p == nil || !predialable(cfg) || cfg.Host != p.host || !sameTLS(cfg.TLSClientConfig, p.tls) {
		return cfg
	}
	out := rest.CopyConfig(cfg)
	// client-go's transport (transport/cache.go), with the first dial
	// taken from the connection ready.
	out.Transport = utilnet.SetTransportDefaults(&http.Transport{
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     p.tlsConfig.Clone(),
		MaxIdleConnsPerHost: 25,
		DisableCompression:  cfg.DisableCompression,
		DialTLSContext:      p.dialTLS,
	})
	// client-go takes either its TLS options or a transport; the
	// transport's handshake holds them.
	out.TLSClientConfig = rest.TLSClientConfig{}
	return out
}

// dialTLS hands out the connection dialled ahead once, to a dial of its
// address, and dials anew otherwise or when it failed.
func (p *Predialed) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	if addr == p.addr {
		p.once.Do(func() {
			select {
			case conn = <-p.ready:
			case <-ctx.Done():
				p.closeWhenReady()
			}
		})
	}
	if conn != nil {
		return conn, nil
	}
	return p.dialer.DialContext(ctx, network, addr)
}

// Close closes the connection dialled ahead if no request took it.
func (p *Predialed) Close() {
	if p == nil {
		return
	}
	p.once.Do(p.closeWhenReady)
}

// closeWhenReady closes the connection dialled ahead once it is in.
func (p *Predialed) closeWhenReady() {
	go func() {
		if conn := <-p.ready; conn != nil {
			conn.Close()
		}
	}()
}

// sameTLS reports whether two configs verify the server alike.
func sameTLS(a, b rest.TLSClientConfig) bool {
	return a.Insecure == b.Insecure && a.ServerName == b.ServerName && a.CAFile == b.CAFile &&
		slices.Equal(a.CAData, b.CAData) && slices.Equal(a.NextProtos, b.NextProtos)
}
