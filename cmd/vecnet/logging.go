package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// logFlags are the -log-format and -log-level flags every command takes.
type logFlags struct {
	format, level string
}

// add registers the flags on fs.
func (l *logFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "text", "log line format on stderr: text (key=value) or json (one object a line)")
	fs.StringVar(&l.level, "log-level", "info", "least severe level logged: debug, info, warn or error")
}

// logStyle is what the command's logging flags chose; newLogger follows it.
var logStyle = struct {
	json  bool
	level slog.Level
}{level: slog.LevelInfo}

// install checks the flags' values and makes slog's default logger write
// to stderr as they say.
func (l *logFlags) install() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", l.level)
	}
	switch l.format {
	case "text", "json":
	default:
		return fmt.Errorf("-log-format %q: want text or json", l.format)
	}
	logStyle.json, logStyle.level = l.format == "json", level
	slog.SetDefault(newLogger(os.Stderr))
	return nil
}

// newLogger returns a logger writing to w in the format and from the level
// the command's flags chose.
func newLogger(w io.Writer) *slog.Logger {
	opt := &slog.HandlerOptions{Level: logStyle.level}
	if logStyle.json {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}
