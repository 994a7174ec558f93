package metrics

// NormalizeError appends msg to dst with every IP address (with or without
// a port) replaced by "ADDR", so that errors that differ only by ephemeral
// port or address fall into one kind, e.g.
//
//	read tcp 127.0.0.1:51234->127.0.0.1:3000: read: connection reset by peer
//
// becomes "read tcp ADDR->ADDR: read: connection reset by peer". It
// allocates only when dst must grow.
func NormalizeError(dst []byte, msg string) []byte {
	for i := 0; i < len(msg); {
		if n := addrLen(msg[i:]); n > 0 && boundary(msg, i) {
			dst = append(dst, "ADDR"...)
			i += n
			continue
		}
		dst = append(dst, msg[i])
		i++
	}
	return dst
}

// boundary reports whether an address may start at s[i]: not in the middle
// of a word or number.
func boundary(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	return !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_')
}

// addrLen returns the length of the IPv4 address (with optional :port) or
// bracketed IPv6 address (with optional :port) at the start of s, or 0.
func addrLen(s string) int {
	n := 0
	switch {
	case len(s) > 0 && s[0] == '[':
		j := 1
		for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.' || s[j] == '%') {
			j++
		}
		if j == 1 || j >= len(s) || s[j] != ']' {
			return 0
		}
		n = j + 1
	default:
		j := 0
		for part := 0; part < 4; part++ {
			k := j
			for k < len(s) && k-j < 3 && isDigit(s[k]) {
				k++
			}
			if k == j {
				return 0
			}
			j = k
			if part < 3 {
				if j >= len(s) || s[j] != '.' {
					return 0
				}
				j++
			}
		}
		if j < len(s) && isDigit(s[j]) || j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			return 0 // a longer number or dotted run: not an address
		}
		n = j
	}
	if n < len(s) && s[n] == ':' {
		k := n + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > n+1 {
			n = k
		}
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
