package dnszone

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const soa = "@ 3600 IN SOA ns1 host 1 2 3 4 5\n"
	tests := []struct{ name, zone string }{
		{"no SOA", "www 60 IN A 192.0.2.1\n"},
		{"two SOA", soa + soa},
		{"SOA below apex", soa + "sub 60 IN SOA ns1 host 1 2 3 4 5\n"},
		{"delegation", soa + "sub 60 IN NS ns.other.\n"},
		{"CNAME and other data", soa + "a 60 IN CNAME www\na 60 IN A 192.0.2.1\n"},
		{"unsupported type", soa + "s 60 IN SRV 0 0 53 www\n"},
		{"out of zone", soa + "www.other. 60 IN A 192.0.2.1\n"},
		{"class CH", soa + "www 60 CH A 192.0.2.1\n"},
		{"syntax", soa + "www 60 IN A 300.1.1.1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.zone), "example.test.")
			if !errors.Is(err, ErrBadZone) {
				t.Errorf("err = %v, want ErrBadZone", err)
			}
		})
	}
	z, err := Parse(strings.NewReader(soa+"www 60 IN A 192.0.2.1\na.b 60 IN A 192.0.2.2\n"), "Example.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if z.Names() != 4 { // apex, www, a.b, b (empty non-terminal)
		t.Errorf("%d names, want 4", z.Names())
	}
}
