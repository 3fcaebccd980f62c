// Command ferretdb is the local stack's FerretDB v1: the embeddable
// github.com/FerretDB/FerretDB/ferretdb package with the SQLite backend, listening on one TCP
// address. `go install` of FerretDB's own command does not work from the module cache (it
// needs the generated build/version/version.txt), hence this small main.
//
// Usage: ferretdb -listen 127.0.0.1:57017 -sqlite /path/to/data/
// Stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

const module = "github.com/FerretDB/FerretDB"

// moduleVersion is the FerretDB version this binary was built with, from the Go build info.
func moduleVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == module {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("sqlite", "data", "directory of the SQLite databases (created if missing)")
	printVersion := flag.Bool("version", false, "print the FerretDB and MongoDB versions and exit")
	flag.Parse()

	if *printVersion {
		fmt.Printf("FerretDB %s (MongoDB %s)\n", moduleVersion(), version.Get().MongoDBVersion)
		return
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		logger.Error("data directory", "error", err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
	})
	if err != nil {
		logger.Error("start", "error", err)
		os.Exit(1)
	}

	// The embedded package reports "unknown"; report the real module version in buildInfo.
	version.Get().Version = moduleVersion()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("FerretDB listening", "version", version.Get().Version, "addr", *listen, "sqlite", abs)
	if err := f.Run(ctx); err != nil {
		logger.Error("run", "error", err)
		os.Exit(1)
	}
	logger.Info("FerretDB stopped")
}
