package runner

import (
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

func TestPlanPinning(t *testing.T) {
	for _, c := range []struct {
		name          string
		pin           scenario.Pin
		allowed       []int
		server, cli   string
		noteHas, fail string
	}{
		{"auto 2", scenario.Pin{}, []int{0, 1}, "0", "1", "auto split of 2 CPUs", ""},
		{"auto 4", scenario.Pin{}, []int{0, 1, 2, 3}, "0-1", "2-3", "auto", ""},
		{"auto 3", scenario.Pin{}, []int{2, 5, 6}, "2,5", "6", "auto", ""},
		{"auto 1", scenario.Pin{}, []int{0}, "", "", "only 1 CPU", ""},
		{"off", scenario.Pin{Disabled: true}, []int{0, 1}, "", "", "off", ""},
		{"explicit", scenario.Pin{Server: "1", Client: "0"}, []int{0, 1}, "1", "0", "CPU lists from the scenario", ""},
		{"unavailable", scenario.Pin{Server: "0", Client: "7"}, []int{0, 1}, "", "", "", "CPU 7 is not available"},
		{"half given", scenario.Pin{Server: "0"}, []int{0, 1}, "", "", "", "client CPU list missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanPinning(c.pin, c.allowed)
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("error %v, want %q", err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ServerList != c.server || p.ClientList != c.cli || !strings.Contains(p.Note, c.noteHas) {
				t.Errorf("got server %q client %q note %q; want %q %q and a note with %q", p.ServerList, p.ClientList, p.Note, c.server, c.cli, c.noteHas)
			}
			if c.server != "" && p.String() != "servers on CPU "+c.server+", load generator on CPU "+c.cli+" ("+p.Note+")" || c.server == "" && p.String() != p.Note {
				t.Errorf("String() = %q", p.String())
			}
			if (p.Server == nil) != (c.server == "") || (p.Client == nil) != (c.cli == "") {
				t.Errorf("CPU sets %v %v do not match the lists %q %q", p.Server, p.Client, c.server, c.cli)
			}
		})
	}
}

func TestFormatCPUList(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2, 5}, "0-2,5"}, {[]int{1, 3, 4, 5, 7}, "1,3-5,7"}} {
		if got := FormatCPUList(c.in); got != c.want {
			t.Errorf("FormatCPUList(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
