package daemon

import (
	"fmt"
	"os"
	"strings"

	"github.com/vecnet/vecnet/control/api"
	"github.com/vecnet/vecnet/control/metrics"
	"github.com/vecnet/vecnet/control/web"
)

// startAPI serves the HTTP API on the config's unix socket and, when the
// config says so, on its TCP address with the token from its token file.
func (d *Daemon) startAPI() error {
	c := api.Config{Socket: d.Config.APISocket(), Listen: d.Config.HTTP.Listen}
	if c.Listen != "" {
		b, err := os.ReadFile(d.Config.HTTP.TokenFile)
		if err != nil {
			return fmt.Errorf("http: token_file: %w", err)
		}
		if c.Token = strings.TrimSpace(string(b)); c.Token == "" {
			return fmt.Errorf("http: token_file %s is empty", d.Config.HTTP.TokenFile)
		}
	}
	d.API = api.New(d.Backend())
	// Prometheus and the live page share the API's listeners (and, on
	// TCP, its token).
	d.API.Mount("/metrics", metrics.NewHandler(d))
	d.API.Mount("/ui/", web.NewHandler(d))
	if err := d.API.Start(c); err != nil {
		d.API = nil
		return err
	}
	for _, a := range d.API.Addrs() {
		d.Log.Info("HTTP API listening", "addr", a.String())
	}
	return nil
}
