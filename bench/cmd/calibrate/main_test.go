package main

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	o, err := parse(&bytes.Buffer{}, []string{"--rise", "5%, 10%,0.2", "--gates", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if o.gates != 3 || len(o.rises) != 3 || !slices.EqualFunc(o.rises, []float64{0.05, 0.10, 0.2},
		func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
		t.Errorf("parsed %+v", o)
	}
}

// Bad flags exit 2 with a message saying what is wrong, before anything
// is started; --help exits 0.
func TestRunUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--gates", "0"}, "--gates 0 out of range"},
		{[]string{"--rise", "-5%"}, "not a positive percentage"},
		{[]string{"--rise", "ten"}, "not a positive percentage"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--nosuch"}, "unknown flag"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), &out, &errb, c.args); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), &out, &errb, []string{"--help"}); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	// A scenario that cannot be read is a usage error, as in ab.
	if code := run(context.Background(), &out, &errb, []string{"--scenario", "no-such.yaml"}); code != 2 {
		t.Errorf("missing scenario: exit %d, want 2", code)
	}
}
