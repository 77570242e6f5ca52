package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/certs"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/store"
)

// tenant: orgraph tenant create NAME [--json] | list | delete ID
func (m *Main) tenant(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("tenant: want create, list or delete")
	}
	fs := m.newFlags("tenant " + args[0])
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the new tenant's credentials as JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		if len(pos) != 1 {
			return errors.New("tenant create: want one NAME")
		}
		c, err := identity.CreateTenant(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(m.Stdout).Encode(c)
		}
		fmt.Fprintf(m.Stdout, "tenant %s\nclient id %s\nclient secret %s\n(the secret is not shown again)\n", c.TenantID, c.ClientID, c.ClientSecret)
		return nil
	case "list":
		ts, err := st.Tenants(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
		return tw.Flush()
	case "delete":
		if len(pos) != 1 {
			return errors.New("tenant delete: want one tenant ID")
		}
		return st.DeleteTenant(ctx, pos[0])
	}
	return fmt.Errorf("tenant: unknown subcommand %q", args[0])
}

// app: orgraph app create [--tenant ID] [--name N] [--roles R,…] [--scopes S,…] [--public] [--json]
func (m *Main) app(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("app: want create")
	}
	fs := m.newFlags("app create")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the default tenant)")
	name := fs.String("name", "app", "display name")
	roles := fs.String("roles", "", "application permissions granted, comma-separated")
	scopes := fs.String("scopes", "", "delegated permissions consented, comma-separated")
	public := fs.Bool("public", false, "a public client without a secret (password grant only)")
	asJSON := fs.Bool("json", false, "print the credentials as JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("app create: unexpected argument %q", pos[0])
	}
	st, def, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *tenant == "" {
		*tenant = def
	}
	a, secret, err := identity.CreateApp(ctx, st, *tenant, *name, split(*roles, ""), split(*scopes, ""), *public)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(m.Stdout).Encode(identity.Credentials{TenantID: a.TenantID, ClientID: a.ClientID, ClientSecret: secret})
	}
	fmt.Fprintf(m.Stdout, "tenant %s\nclient id %s\n", a.TenantID, a.ClientID)
	if secret != "" {
		fmt.Fprintf(m.Stdout, "client secret %s\n(the secret is not shown again)\n", secret)
	}
	return nil
}

// user: orgraph user set-password UPN (password on stdin) | set-roles UPN ROLE,…
func (m *Main) user(ctx context.Context, args []string, stdin io.Reader) error {
	if len(args) == 0 {
		return errors.New("user: want set-password or set-roles")
	}
	fs := m.newFlags("user " + args[0])
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the default tenant)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"set-password": 1, "set-roles": 2}[args[0]]
	if want == 0 {
		return fmt.Errorf("user: unknown subcommand %q", args[0])
	}
	if len(pos) != want {
		return fmt.Errorf("user %s: want %d arguments", args[0], want)
	}
	st, def, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *tenant == "" {
		*tenant = def
	}
	u, err := findUser(ctx, st, *tenant, pos[0])
	if err != nil {
		return err
	}
	if args[0] == "set-roles" {
		return st.SetDirectoryRoles(ctx, *tenant, u.ID, split(pos[1], ""))
	}
	// The password comes on standard input, never as an argument, which other users could read in ps.
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("user set-password: give the password on standard input")
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	return st.SetPasswordHash(ctx, *tenant, u.ID, hash)
}

func findUser(ctx context.Context, st store.Store, tenant, key string) (*directory.Object, error) {
	var u *directory.Object
	err := st.View(ctx, tenant, func(tx directory.Tx) (err error) {
		u, err = directory.Resolve(tx, directory.KindUser, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", key, err)
	}
	return u, nil
}

// cert: orgraph cert [--data DIR] prints the CA that signs serve --tls's certificate.
func (m *Main) cert(args []string) error {
	fs := m.newFlags("cert")
	data := fs.String("data", "./orgraph-data", "data folder the server generated its certificate in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := certs.Ensure(*data); err != nil {
		return err
	}
	pem, err := certs.CA(*data)
	if err != nil {
		return err
	}
	_, err = m.Stdout.Write(pem)
	return err
}
