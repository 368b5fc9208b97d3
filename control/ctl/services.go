package ctl

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// ACLRow is one ACL (show acls): its rules in order with their hits.
type ACLRow struct {
	Name      string       `json:"name"`
	Interface string       `json:"interface"`
	Direction string       `json:"direction"` // "in"
	Default   string       `json:"default"`   // the action for packets no rule matches
	Rules     []ACLRuleRow `json:"rules"`
	NoMatch   uint64       `json:"no_match"` // packets the default decided
}

// ACLRuleRow is one rule of an ACL.
type ACLRuleRow struct {
	Rule string `json:"rule"` // as "permit src any dst 10.0.2.0/24 proto 6 dport 80-80"
	Hits uint64 `json:"hits"`
}

// SessionRow is one stateful-firewall session (show sessions).
type SessionRow struct {
	Worker           int    `json:"worker"`
	Protocol         uint8  `json:"protocol"`
	Initiator        string `json:"initiator"` // addr:port (ICMP: the echo identifier)
	Responder        string `json:"responder"`
	State            string `json:"state"`
	Packets          uint64 `json:"packets"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
}

// NATSessionRow is one NAT44 mapping (show nat sessions).
type NATSessionRow struct {
	Worker           int    `json:"worker"`
	Protocol         string `json:"protocol"` // tcp, udp, icmp
	Inside           string `json:"inside"`
	Outside          string `json:"outside"`
	State            string `json:"state"`
	Packets          uint64 `json:"packets"`
	ExpiresInSeconds *int64 `json:"expires_in_seconds,omitempty"` // absent for static mappings
}

// PolicerRow is one policer (show policers).
type PolicerRow struct {
	Name      string       `json:"name"`
	Interface string       `json:"interface"`
	Mode      string       `json:"mode"` // srTCM (RFC 2697) or trTCM (RFC 2698)
	CIRBits   uint64       `json:"cir_bits_per_second"`
	PIRBits   uint64       `json:"pir_bits_per_second,omitempty"`
	Green     ColorCounter `json:"green"`
	Yellow    ColorCounter `json:"yellow"`
	Red       ColorCounter `json:"red"`
}

// ColorCounter counts what a policer coloured one colour.
type ColorCounter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// WriteACLs writes "show acls".
func WriteACLs(w io.Writer, rows []ACLRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range rows {
		fmt.Fprintf(tw, "acl %s on %s (%sbound), %d rules\n", a.Name, a.Interface, a.Direction, len(a.Rules))
		fmt.Fprintln(tw, "  #\tHits\tRule")
		for i, r := range a.Rules {
			fmt.Fprintf(tw, "  %d\t%d\t%s\n", i+1, r.Hits, r.Rule)
		}
		fmt.Fprintf(tw, "  -\t%d\t%s (no rule matched)\n", a.NoMatch, a.Default)
	}
	return tw.Flush()
}

// WriteSessions writes "show sessions".
func WriteSessions(w io.Writer, rows []SessionRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Worker\tProto\tInitiator\tResponder\tState\tPackets\tExpires in")
	for _, s := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%ds\n", s.Worker, s.Protocol, s.Initiator, s.Responder, s.State, s.Packets, s.ExpiresInSeconds)
	}
	fmt.Fprintf(tw, "%d sessions\n", len(rows))
	return tw.Flush()
}

// WriteNATSessions writes "show nat sessions".
func WriteNATSessions(w io.Writer, rows []NATSessionRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Worker\tProto\tInside\tOutside\tState\tPackets\tExpires in")
	for _, s := range rows {
		exp := "-"
		if s.ExpiresInSeconds != nil {
			exp = fmt.Sprintf("%ds", *s.ExpiresInSeconds)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Worker, s.Protocol, s.Inside, s.Outside, s.State, s.Packets, exp)
	}
	fmt.Fprintf(tw, "%d mappings\n", len(rows))
	return tw.Flush()
}

// WritePolicers writes "show policers".
func WritePolicers(w io.Writer, rows []PolicerRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tInterface\tMode\tCIR bit/s\tPIR bit/s\tGreen pkts\tYellow pkts\tRed pkts\tGreen bytes\tYellow bytes\tRed bytes")
	for _, p := range rows {
		pir := "-"
		if p.PIRBits != 0 {
			pir = fmt.Sprint(p.PIRBits)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", p.Name, p.Interface, p.Mode, p.CIRBits, pir,
			p.Green.Packets, p.Yellow.Packets, p.Red.Packets, p.Green.Bytes, p.Yellow.Bytes, p.Red.Bytes)
	}
	return tw.Flush()
}
