package ctl

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// BridgeRow is one bridge domain (show bridge).
type BridgeRow struct {
	ID         uint32            `json:"id"`
	Members    []BridgeMemberRow `json:"members"`
	BVI        string            `json:"bvi,omitempty"` // the BVI's name, absent without one
	AgeSeconds int64             `json:"age_seconds"`
	MaxMACs    int               `json:"max_macs"`
	MACs       int               `json:"macs"` // learnt MACs, summed over workers
}

// BridgeMemberRow is one member interface of a bridge domain.
type BridgeMemberRow struct {
	Interface    string `json:"interface"`
	SplitHorizon uint8  `json:"split_horizon"`
}

// BridgeMACRow is one learnt MAC of one worker's table (show bridge macs).
type BridgeMACRow struct {
	Worker      int    `json:"worker"`
	Bridge      uint32 `json:"bridge"`
	MAC         string `json:"mac"`
	Interface   string `json:"interface"`
	IdleSeconds int64  `json:"idle_seconds"` // since a frame from the MAC was last seen
}

// WriteBridges writes "show bridge".
func WriteBridges(w io.Writer, rows []BridgeRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Bridge\tMembers\tBVI\tAge\tMax MACs\tMACs")
	for _, b := range rows {
		var ms []string
		for _, m := range b.Members {
			if m.SplitHorizon != 0 {
				ms = append(ms, fmt.Sprintf("%s(shg %d)", m.Interface, m.SplitHorizon))
			} else {
				ms = append(ms, m.Interface)
			}
		}
		bvi := b.BVI
		if bvi == "" {
			bvi = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%ds\t%d\t%d\n", b.ID, strings.Join(ms, ","), bvi, b.AgeSeconds, b.MaxMACs, b.MACs)
	}
	return tw.Flush()
}

// WriteBridgeMACs writes "show bridge macs".
func WriteBridgeMACs(w io.Writer, rows []BridgeMACRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Worker\tBridge\tMAC\tInterface\tIdle")
	for _, m := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%ds\n", m.Worker, m.Bridge, m.MAC, m.Interface, m.IdleSeconds)
	}
	fmt.Fprintf(tw, "%d MACs\n", len(rows))
	return tw.Flush()
}
