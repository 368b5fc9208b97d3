package daemon

import (
	"fmt"
	"github.com/vecnet/vecnet/control/ctl"
	"time"

	"github.com/vecnet/vecnet/dataplane"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/service/acl"
)

// aclBinding is a configured ACL and the interface it filters.
type aclBinding struct {
	a      *acl.ACL
	ifname string
	port   uint16
	out    bool // on what the interface sends (ip4-acl-out)
}

// setupACLs compiles the configured ACLs and, when there are any, adds
// ip4-acl-in and ip6-acl-in to the graph and their features to the
// ip4-unicast and ip6-unicast arcs, and, when an ACL filters what an
// interface sends, ip4-acl-out and ip6-acl-out and their features to the
// output arcs (the IPv4 two share each worker's session table). It runs
// after the interfaces are added and before the workers' graphs are built.
func (d *Daemon) setupACLs(dp *dataplane.Dataplane) error {
	if len(d.Config.ACLs) == 0 {
		return nil
	}
	byPort := make([]*acl.ACL, len(d.Interfaces))
	byPortOut := make([]*acl.ACL, len(d.Interfaces))
	stateful, anyOut := false, false
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
		for k, r := range ac.Rules {
			if r.Police == "" {
				continue
			}
			p := d.policerNamed(r.Police)
			if p == nil {
				return fmt.Errorf("acl %s rule %d: no policer %q", ac.Name, k+1, r.Police)
			}
			a.SetPolicer(k, p)
		}
		if ac.Out {
			byPortOut[ifc.Index] = a
			anyOut = true
		} else {
			byPort[ifc.Index] = a
		}
		d.acls = append(d.acls, aclBinding{a: a, ifname: ifc.Config.Name, port: ifc.Index, out: ac.Out})
	}
	d.aclTable.Set(byPort)
	d.aclOutTable.Set(byPortOut)
	dp.Extra = append(dp.Extra, acl.Node(acl.NodeConfig{Table: &d.aclTable, Stateful: stateful, Sessions: d.Config.Sessions}),
		acl.Node6(acl.NodeConfig{Table: &d.aclTable}))
	dp.Features = append(dp.Features, acl.Feature)
	dp.Features6 = append(dp.Features6, acl.Feature6)
	if anyOut {
		dp.Extra = append(dp.Extra, acl.OutNode(acl.NodeConfig{Table: &d.aclOutTable, Stateful: stateful, Sessions: d.Config.Sessions}),
			acl.OutNode6(acl.NodeConfig{Table: &d.aclOutTable}))
		dp.OutputFeatures = append(dp.OutputFeatures, acl.OutFeature)
		dp.OutputFeatures6 = append(dp.OutputFeatures6, acl.OutFeature6)
	}
	return nil
}

// enableACLs turns ip4-acl-in and ip6-acl-in on for the interfaces
// filtered inbound and ip4-acl-out and ip6-acl-out for those filtered
// outbound, in one worker's graph.
func (d *Daemon) enableACLs(g *graph.Graph) error {
	for _, b := range d.acls {
		arc, node, arc6, node6 := ip4.UnicastArc, acl.NodeName, ip6.UnicastArc, acl.Node6Name
		if b.out {
			arc, node, arc6, node6 = ip4.OutputArc, acl.OutNodeName, ip6.OutputArc, acl.OutNode6Name
		}
		if err := g.EnableFeature(arc, node, b.port, true); err != nil {
			return err
		}
		if err := g.EnableFeature(arc6, node6, b.port, true); err != nil {
			return err
		}
	}
	return nil
}

// ACLHits is one ACL's rules with their hit counts.
type ACLHits struct {
	Name, Interface string
	Out             bool // filters what the interface sends
	Default         acl.Action
	Rules           []acl.Rule
	Hits            []uint64
	NoMatch         uint64
}

// ACLs returns each ACL's rules and hit counts.
func (d *Daemon) ACLs() []ACLHits {
	out := make([]ACLHits, 0, len(d.acls))
	for _, b := range d.acls {
		h := ACLHits{Name: b.a.Name, Interface: b.ifname, Out: b.out, Default: b.a.Default, Rules: b.a.C.Rules()}
		h.Hits, h.NoMatch = b.a.Hits()
		out = append(out, h)
	}
	return out
}

// ACLs implements ctl.Backend: show acls.
func (b backend) ACLs() ([]ctl.ACLRow, error) {
	rows := []ctl.ACLRow{}
	for _, a := range b.d.ACLs() {
		dir := "in"
		if a.Out {
			dir = "out"
		}
		r := ctl.ACLRow{Name: a.Name, Interface: a.Interface, Direction: dir, Default: a.Default.String(), NoMatch: a.NoMatch,
			Rules: []ctl.ACLRuleRow{}}
		for k, rule := range a.Rules {
			r.Rules = append(r.Rules, ctl.ACLRuleRow{Rule: rule.String(), Hits: a.Hits[k]})
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Sessions returns every worker's live sessions, read on the workers.
func (d *Daemon) Sessions() ([][]acl.SessionInfo, error) {
	return perWorker(d, acl.NodeSessions)
}

// Sessions implements ctl.Backend: show sessions.
func (b backend) Sessions() ([]ctl.SessionRow, error) {
	per, err := b.d.Sessions()
	rows := []ctl.SessionRow{}
	for w, ss := range per {
		for _, s := range ss {
			rows = append(rows, ctl.SessionRow{Worker: w, Protocol: s.Proto, Initiator: s.Initiator.String(), Responder: s.Responder.String(),
				State: s.State, Packets: s.Packets, ExpiresInSeconds: int64(s.ExpiresIn.Round(time.Second) / time.Second)})
		}
	}
	return rows, unavailable(err)
}
