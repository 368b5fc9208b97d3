package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// cmdVersion runs "vecnet version" (also "vecnet --version").
func cmdVersion(path string, args []string) error {
	fs := newFlags(path, "", "Print the module version, the VCS revision and time the binary was built from, and the Go version.")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	writeVersion(os.Stdout, versionInfo())
	return nil
}

// buildVersion is what the binary's build info says about it.
type buildVersion struct {
	Module, Version, GoVersion string
	Revision, Time             string // empty when not built from a VCS checkout
	Modified                   bool   // the checkout had uncommitted changes
}

// versionInfo reads the running binary's build info.
func versionInfo() buildVersion {
	v := buildVersion{Module: "github.com/vecnet/vecnet", Version: "(unknown)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.GoVersion = bi.GoVersion
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// writeVersion prints v: "vecnet MODULE VERSION", then the revision line
// when there is one, then the Go version.
func writeVersion(w io.Writer, v buildVersion) {
	fmt.Fprintf(w, "vecnet %s %s\n", v.Module, v.Version)
	if v.Revision != "" {
		mod := ""
		if v.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(w, "revision %s %s%s\n", v.Revision, v.Time, mod)
	}
	fmt.Fprintf(w, "go %s\n", v.GoVersion)
}
