package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
)

// defaultPermissions cover every endpoint orgraph serves (deleting users and groups needs the
// User.ReadWrite.All and Group.ReadWrite.All that Directory.ReadWrite.All does not include).
const defaultPermissions = "Directory.ReadWrite.All,User.ReadWrite.All,Group.ReadWrite.All"

// cliAppID is the client id of the tokens `orgraph token` mints: the app the command line acts as.
const cliAppID = "1b730954-1685-4b74-9bfd-dac224a7b894"

func (m *Main) token(ctx context.Context, args []string) error {
	fs := m.newFlags("token")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the data folder's default tenant)")
	roles := fs.String("roles", "", "application permissions, comma-separated (default "+defaultPermissions+" when no --user)")
	user := fs.String("user", "", "mint a delegated token for this user (userPrincipalName or id)")
	scopes := fs.String("scopes", "", "delegated permissions, comma-separated (default "+defaultPermissions+")")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	st, def, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *tenant == "" {
		*tenant = def
	}
	if _, err := st.Tenant(ctx, *tenant); err != nil {
		return fmt.Errorf("token: tenant %s: %w", *tenant, err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return err
	}
	c := auth.Claims{TenantID: *tenant, AppID: cliAppID, ObjectID: cliAppID}
	switch {
	case *user != "":
		if *roles != "" {
			return errors.New("token: a delegated token (--user) carries --scopes, not --roles")
		}
		err := st.View(ctx, *tenant, func(tx directory.Tx) error {
			u, err := directory.Resolve(tx, directory.KindUser, *user)
			if err != nil {
				return err
			}
			c.ObjectID, c.UPN = u.ID, u.String("userPrincipalName")
			return nil
		})
		if err != nil {
			return fmt.Errorf("token: user %s: %w", *user, err)
		}
		c.Scopes = split(*scopes, defaultPermissions)
	default:
		if *scopes != "" {
			return errors.New("token: --scopes needs --user; an application token carries --roles")
		}
		c.Roles = split(*roles, defaultPermissions)
	}
	tok, err := auth.Mint(keys[0], c, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, tok)
	return nil
}

func split(list, def string) []string {
	if strings.TrimSpace(list) == "" {
		list = def
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
