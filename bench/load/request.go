package load

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// endpoint is where the lean engine connects: one host per trial.
type endpoint struct {
	tls        bool
	addr       string // host:port to dial
	serverName string // for TLS
}

// wireTarget is one target of the mix as the bytes of its request, built
// once per trial and written as they are for every request.
type wireTarget struct {
	req  []byte
	head bool // a HEAD request: the response has no body
}

// userAgent is sent with every request of the lean engine.
const userAgent = "clusterbench"

// buildRequests turns the mix into request bytes. Every target must name
// the same scheme and host (the lean engine drives one server per trial).
func buildRequests(targets []Target, keepAlive bool) (endpoint, []wireTarget, error) {
	var ep endpoint
	out := make([]wireTarget, len(targets))
	for i, t := range targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return ep, nil, fmt.Errorf("load: target %d: %w", i, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return ep, nil, fmt.Errorf("load: target %d (%s): scheme %q (allowed: http, https)", i, t.URL, u.Scheme)
		}
		if u.Host == "" {
			return ep, nil, fmt.Errorf("load: target %d (%s): no host", i, t.URL)
		}
		e := endpoint{tls: u.Scheme == "https", addr: u.Host, serverName: u.Hostname()}
		if u.Port() == "" {
			port := "80"
			if e.tls {
				port = "443"
			}
			e.addr = net.JoinHostPort(u.Hostname(), port)
		}
		if i == 0 {
			ep = e
		} else if e != ep {
			return ep, nil, fmt.Errorf("load: target %d (%s): the lean engine sends a trial's requests to one scheme and host (%s), not %s (--engine vegeta allows several)",
				i, t.URL, targets[0].URL, u.Scheme+"://"+u.Host)
		}
		method := t.Method
		if method == "" {
			method = http.MethodGet
		}
		out[i] = wireTarget{req: requestBytes(method, u, t.Header, t.Body, keepAlive), head: method == http.MethodHead}
	}
	return ep, out, nil
}

// requestBytes writes an HTTP/1.1 request: request line, Host, User-Agent,
// the caller's headers in name order, Content-Length when there is a body
// (or the method carries one), Connection: close without keep-alive.
func requestBytes(method string, u *url.URL, header http.Header, body []byte, keepAlive bool) []byte {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\n")
	host := u.Host
	if h := header.Get("Host"); h != "" {
		host = h
	}
	b.WriteString("Host: " + host + "\r\n")
	if header.Get("User-Agent") == "" {
		b.WriteString("User-Agent: " + userAgent + "\r\n")
	}
	names := make([]string, 0, len(header))
	for k := range header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Connection":
			continue // set from the request itself
		}
		for _, v := range header[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	switch {
	case len(body) > 0, method == http.MethodPost, method == http.MethodPut, method == http.MethodPatch:
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if !keepAlive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return []byte(b.String())
}
