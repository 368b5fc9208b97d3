package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates one YAML document; name is used in error
// messages. On success every default is filled in. On failure the error is
// an *Error or several joined (see Error), and the Config is nil.
func Parse(name string, data []byte) (c *Config, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; a config file must
		// never crash the daemon.
		if r := recover(); r != nil {
			c, err = nil, &Error{File: name, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty config"}
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(name, err)
		}
		return nil, &Error{File: name, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document"}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "empty config"}
	}
	w := &walker{file: name}
	c = w.config(doc.Content[0])
	if len(w.errs) > 0 {
		sort.SliceStable(w.errs, func(i, j int) bool {
			a, b := w.errs[i].(*Error), w.errs[j].(*Error)
			return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
		})
		return nil, joinErrors(w.errs)
	}
	return c, nil
}
