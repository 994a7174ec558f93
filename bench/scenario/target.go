package scenario

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TargetBase checks the URL of a server the user runs and returns its
// scheme and host ("http://127.0.0.1:8080"): requests' paths are appended
// to it. A path other than "/" belongs in requests:, not in target:.
func TargetBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not a URL: %v", raw, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: scheme %q is not supported (allowed: http, https)", raw, u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return "", fmt.Errorf("%q: only scheme and host:port here; paths go in requests:", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// SplitURL splits a request URL into the target base and the request path
// (with its query), for `clusterbench load URL`.
func SplitURL(raw string) (base, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	if u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("%q: no fragment or user info allowed (allowed: scheme://host:port/path?query)", raw)
	}
	path = u.RequestURI()
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	base, err = TargetBase(u.String())
	if err != nil {
		return "", "", err
	}
	if !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("%q: the path must start with /", raw)
	}
	return base, path, nil
}
