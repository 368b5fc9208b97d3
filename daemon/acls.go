package daemon

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/service/acl"
	"github.com/vecnet/vecnet/worker"
)

// aclBinding is a configured ACL and the interface it filters.
type aclBinding struct {
	a      *acl.ACL
	ifname string
	port   uint16
}

// setupACLs compiles the configured ACLs and, when there are any, adds
// ip4-acl-in to the graph and its feature to the ip4-unicast arc. It runs
// after the interfaces are added and before the workers' graphs are built.
func (d *Daemon) setupACLs(dp *dataplane.Dataplane) error {
	if len(d.Config.ACLs) == 0 {
		return nil
	}
	byPort := make([]*acl.ACL, len(d.Interfaces))
	stateful := false
	for _, ac := range d.Config.ACLs {
		for _, r := range ac.Rules {
			stateful = stateful || r.Action == acl.PermitReflect
		}
		ifc := d.iface(ac.Interface)
		if ifc == nil {
			return fmt.Errorf("acl %s: no interface %q", ac.Name, ac.Interface)
		}
		c, err := acl.Compile(ac.Rules)
		if err != nil {
			return fmt.Errorf("acl %s: %w", ac.Name, err)
		}
		a := acl.New(ac.Name, c, ac.Default)
		byPort[ifc.Index] = a
		d.acls = append(d.acls, aclBinding{a: a, ifname: ifc.Config.Name, port: ifc.Index})
	}
	d.aclTable.Set(byPort)
	dp.Extra = append(dp.Extra, acl.Node(acl.NodeConfig{Table: &d.aclTable, Stateful: stateful, Sessions: d.Config.Sessions}))
	dp.Features = append(dp.Features, acl.Feature)
	return nil
}

// enableACLs turns ip4-acl-in on for the filtered interfaces of one
// worker's graph.
func (d *Daemon) enableACLs(g *graph.Graph) error {
	for _, b := range d.acls {
		if err := g.EnableFeature(ip4.UnicastArc, acl.NodeName, b.port, true); err != nil {
			return err
		}
	}
	return nil
}

// ACLHits is one ACL's rules with their hit counts.
type ACLHits struct {
	Name, Interface string
	Default         acl.Action
	Rules           []acl.Rule
	Hits            []uint64
	NoMatch         uint64
}

// ACLs returns each ACL's rules and hit counts.
func (d *Daemon) ACLs() []ACLHits {
	out := make([]ACLHits, 0, len(d.acls))
	for _, b := range d.acls {
		h := ACLHits{Name: b.a.Name, Interface: b.ifname, Default: b.a.Default, Rules: b.a.C.Rules()}
		h.Hits, h.NoMatch = b.a.Hits()
		out = append(out, h)
	}
	return out
}

func (d *Daemon) showACLs(w io.Writer, _ []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range d.ACLs() {
		fmt.Fprintf(tw, "acl %s on %s (inbound), %d rules\n", a.Name, a.Interface, len(a.Rules))
		fmt.Fprintln(tw, "  #\tHits\tRule")
		for i, r := range a.Rules {
			fmt.Fprintf(tw, "  %d\t%d\t%v\n", i+1, a.Hits[i], r)
		}
		fmt.Fprintf(tw, "  -\t%d\t%v (no rule matched)\n", a.NoMatch, a.Default)
	}
	return tw.Flush()
}

// Sessions returns every worker's live sessions, read on the workers.
func (d *Daemon) Sessions() ([][]acl.SessionInfo, error) {
	out := make([][]acl.SessionInfo, len(d.Workers))
	err := d.OnWorkers(func(w *worker.Worker) {
		out[w.ID] = acl.NodeSessions(w.Graph)
	})
	return out, err
}

func (d *Daemon) showSessions(w io.Writer, _ []string) error {
	per, err := d.Sessions()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Worker\tProto\tInitiator\tResponder\tState\tPackets\tExpires in")
	total := 0
	for wi, ss := range per {
		for _, s := range ss {
			fmt.Fprintf(tw, "%d\t%d\t%v\t%v\t%s\t%d\t%v\n", wi, s.Proto, s.Initiator, s.Responder, s.State, s.Packets, s.ExpiresIn.Round(time.Second))
			total++
		}
	}
	fmt.Fprintf(tw, "%d sessions\n", total)
	return tw.Flush()
}
