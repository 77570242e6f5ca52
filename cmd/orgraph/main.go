// Command orgraph is a directory server that speaks the Microsoft Graph API for users, groups, org contacts
// and who manages and sponsors whom. The command only parses flags and wires the internal packages together;
// Main.Run is the whole program, so tests drive it in-process exactly as a shell would.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "orgraph:", err)
		}
		os.Exit(2)
	}
}

// Main is the orgraph program with its output streams, so a test can run it and read what it prints.
type Main struct {
	Stdin          io.Reader // nil: os.Stdin
	Stdout, Stderr io.Writer
	// ready, when set, receives the base URL once serve is listening (for in-process tests).
	ready chan<- string
}

const usage = `orgraph: a directory server that speaks the Microsoft Graph API

Usage:
  orgraph serve [--addr 127.0.0.1:8080] [--data ./orgraph-data] [--demo]   run the server
  orgraph token [--data ./orgraph-data] [--roles R,...] [--user UPN --scopes S,...]
                                                                         print an access token
  orgraph export [--data DIR] [--tenant ID] [--out FILE]                 write the tenant as JSON Lines
  orgraph import [--data DIR] [--tenant ID] [--skip-bad] FILE|-          load an export into the tenant
  orgraph check [--data DIR] [--tenant ID | --all]                       verify the directory's invariants
  orgraph backup [--data DIR] [--force] FILE                             snapshot the database while it serves
  orgraph restore [--data DIR] [--force] FILE                            make a backup the folder's database
  orgraph tenant create NAME [--json] | list | delete ID                 manage tenants
  orgraph app create [--tenant ID] [--roles R,...] [--scopes S,...] [--public]
                                                                         register an app for the token endpoint
  orgraph user set-password UPN < password | set-roles UPN ROLE,...      sign-in password, directory roles
  orgraph cert [--data DIR]                                              print the CA of serve --tls
  orgraph bench [--users N] [--duration 10s] [--concurrency 64] [--json] measure a generated directory under load

Every command that opens the directory takes --data DIR (embedded SQLite) or --db postgres://… ($ORGRAPH_DB).

Run 'orgraph COMMAND -h' for a command's flags.
`

// Run runs one orgraph command.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "token":
		return m.token(ctx, args[1:])
	case "export":
		return m.export(ctx, args[1:])
	case "import":
		return m.importFile(ctx, args[1:])
	case "check":
		return m.check(ctx, args[1:])
	case "backup":
		return m.backup(ctx, args[1:])
	case "restore":
		return m.restore(ctx, args[1:])
	case "tenant":
		return m.tenant(ctx, args[1:])
	case "app":
		return m.app(ctx, args[1:])
	case "user":
		return m.user(ctx, args[1:], m.stdin())
	case "cert":
		return m.cert(args[1:])
	case "bench":
		return m.bench(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func (m *Main) stdin() io.Reader {
	if m.Stdin != nil {
		return m.Stdin
	}
	return os.Stdin
}

// parse parses flags wherever they stand among the positional arguments (orgraph tenant create NAME --json),
// which the flag package alone stops at, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlags returns a flag set that reports errors instead of exiting, writing usage to m.Stderr.
func (m *Main) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("orgraph "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}
