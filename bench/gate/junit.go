package gate

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fail    int          `xml:"failures,attr"`
	Errors  int          `xml:"errors,attr"`
	Skipped int          `xml:"skipped,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Tests   int         `xml:"tests,attr"`
	Fail    int         `xml:"failures,attr"`
	Errors  int         `xml:"errors,attr"`
	Skipped int         `xml:"skipped,attr"`
	Cases   []junitCase `xml:"testcase"`
	Out     *junitText  `xml:"system-out,omitempty"`
}

// junitText keeps multi-line text readable in CDATA.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Failure *junitProblem `xml:"failure,omitempty"`
	Error   *junitProblem `xml:"error,omitempty"`
	Skipped *junitProblem `xml:"skipped,omitempty"`
	Out     string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: one testcase per metric; a regression is a
// failure, a failed measurement an error, an inconclusive metric skipped
// (its message says what would decide it, its body the reason).
// The text table goes in the suite's system-out.
func WriteJUnit(w io.Writer, rep Report, l Labels) error {
	var text strings.Builder
	if err := WriteText(&text, rep, l); err != nil {
		return err
	}
	suite := junitSuite{Name: l.Title, Out: &junitText{text.String()}}
	if suite.Name == "" {
		suite.Name = "gate"
	}
	class := "clusterbench." + benchName(l)
	for _, r := range rep.Results {
		c := junitCase{Class: class, Name: fmt.Sprintf("%s (%s)", r.RowLabel(), r.BenchUnit)}
		msg := r.Reason
		if r.Verdict != Failed {
			msg = fmt.Sprintf("%s (p=%s): %s", formatSignedPct(r.Delta()), formatP(r.ShownP()), r.Reason)
		}
		switch r.Verdict {
		case Regressed:
			c.Failure = &junitProblem{Type: "regression", Message: msg}
			suite.Fail++
		case Failed:
			c.Error = &junitProblem{Type: "measurement", Message: msg}
			suite.Errors++
		case Inconclusive:
			c.Skipped = &junitProblem{Message: "inconclusive, a regression is not ruled out: " + r.toDecide(), Body: r.Reason}
			suite.Skipped++
		default:
			c.Out = r.Verdict.String() + ": " + msg
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "clusterbench-gate", Tests: suite.Tests, Fail: suite.Fail, Errors: suite.Errors,
		Skipped: suite.Skipped, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
