package ab

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// SplitCommand splits a command line into words the way a shell would for
// a simple command: blanks separate words, single quotes keep everything
// literally, double quotes keep blanks, a backslash escapes the next
// character. No variables, globs, pipes or redirections: the result is
// executed directly, so the server is a direct child of clusterbench and
// dies with it.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("command ends with a lone backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote in command")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote in command")
			}
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("|&;<>()$`*?", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q in command (allowed: a plain command with arguments; quote the character or wrap the command in a script)", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// ServerArgv returns the argv to start for addr: {addr}, {host} and
// {port} are replaced in every word; a `clusterbench` command without
// placeholders and without --addr gets `--addr ADDR` appended. Every
// server also gets PORT and ADDR in its environment.
func ServerArgv(argv []string, addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	out := make([]string, len(argv))
	placeholder := false
	hasAddr := false
	for i, w := range argv {
		r := strings.NewReplacer("{addr}", addr, "{host}", host, "{port}", port).Replace(w)
		placeholder = placeholder || r != w
		hasAddr = hasAddr || w == "--addr" || strings.HasPrefix(w, "--addr=")
		out[i] = r
	}
	if !placeholder && !hasAddr && filepath.Base(argv[0]) == "clusterbench" {
		out = append(out, "--addr", addr)
	}
	return out
}
