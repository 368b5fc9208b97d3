package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// testRegistry registers commands that print their path and arguments.
func testRegistry(t testing.TB) *Registry {
	r := NewRegistry()
	for _, p := range []string{"show runtime", "show errors", "show interfaces", "show fib", "show trace",
		"trace add", "clear trace", "clear runtime", "ip route add", "ip route del", "ip", "set mode", "show ip"} {
		p := p
		err := r.Register(Command{Path: p, Help: "help for " + p, Run: func(w io.Writer, args []string) error {
			fmt.Fprintf(w, "%s %q", p, args)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register(Command{Path: "fail", Help: "always fails", Run: func(w io.Writer, args []string) error {
		fmt.Fprint(w, "partial")
		return errors.New("it failed")
	}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExec(t *testing.T) {
	r := testRegistry(t)
	tests := []struct {
		line    string
		want    string // output
		wantErr string // substring of the error; "" = success
		is      error
	}{
		{line: "show runtime", want: `show runtime []`},
		{line: "  show   runtime  ", want: `show runtime []`},
		{line: "sh run", want: `show runtime []`},
		{line: "sh e", want: `show errors []`},
		{line: "sh in", want: `show interfaces []`},
		{line: "sh i", wantErr: `ambiguous command "sh i": "i" could be interfaces or ip`, is: ErrAmbiguousCommand},
		{line: "tr a 10", want: `trace add ["10"]`},
		{line: "ip route add 10.0.0.0/8 via 1.2.3.4", want: `ip route add ["10.0.0.0/8" "via" "1.2.3.4"]`},
		{line: "ip r d 10.0.0.0/8", want: `ip route del ["10.0.0.0/8"]`},
		{line: "ip link", want: `ip ["link"]`},   // longest prefix that is a command
		{line: "ip route", want: `ip ["route"]`}, // "ip route" is only a prefix
		{line: "set mode fast", want: `set mode ["fast"]`},
		{line: "", want: ""},
		{line: "s", wantErr: `"s" could be set or show`, is: ErrAmbiguousCommand},
		{line: "show t", want: `show trace []`},
		{line: "show tr", want: `show trace []`},
		{line: "c", wantErr: `incomplete command "c"; it continues as: clear runtime, clear trace`, is: ErrUnknownCommand},
		{line: "show", wantErr: "incomplete command", is: ErrUnknownCommand},
		{line: "show bogus", wantErr: `unknown command "show bogus"; "show" continues as: show errors, show fib, show interfaces, show ip, show runtime, show trace`, is: ErrUnknownCommand},
		{line: "shwo runtime", wantErr: "did you mean: show runtime", is: ErrUnknownCommand},
		{line: "frobnicate", wantErr: `unknown command "frobnicate"`, is: ErrUnknownCommand},
		{line: "fail x", want: "partial", wantErr: "it failed"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			var b bytes.Buffer
			err := r.Exec(&b, tt.line)
			if b.String() != tt.want {
				t.Errorf("output %q, want %q", b.String(), tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := testRegistry(t)
	for _, tt := range []struct {
		line string
		want []string // commands listed, in order
	}{
		{"help", paths(r.Commands())},
		{"?", paths(r.Commands())},
		{"help show", []string{"show errors", "show fib", "show interfaces", "show ip", "show runtime", "show trace"}},
		{"sh ru ?", []string{"show runtime"}},
		{"ip ?", []string{"ip", "ip route add", "ip route del"}},
	} {
		var b bytes.Buffer
		if err := r.Exec(&b, tt.line); err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			f := strings.SplitN(strings.TrimSpace(l), "  ", 2)
			got = append(got, f[0])
			if !strings.Contains(l, "help for "+f[0]) && f[0] != "fail" {
				t.Errorf("%q: line %q lacks its help", tt.line, l)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q lists %q, want %q", tt.line, got, tt.want)
		}
	}
	if err := r.Exec(io.Discard, "help nothing"); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("help of an unknown prefix: %v", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	r := testRegistry(t)
	run := func(io.Writer, []string) error { return nil }
	for _, c := range []Command{
		{Path: "", Run: run},
		{Path: "   ", Run: run},
		{Path: "show x"},
		{Path: "help me", Run: run},
		{Path: "show ?", Run: run},
		{Path: "show runtime", Run: run},
		{Path: " show  runtime ", Run: run},
	} {
		if err := r.Register(c); err == nil {
			t.Errorf("Register(%q) succeeded", c.Path)
		}
	}
	if err := r.Register(Command{Path: "show  version", Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := r.Exec(io.Discard, "show version"); err != nil {
		t.Errorf("a path with extra spaces is not normalised: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"show", "shwo", 2}, {"kitten", "sitting", 3}, {"fib", "fib", 0}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}
