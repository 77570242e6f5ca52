package auth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

// declaredOperations reads the Operation constants from the source, so a new one cannot be added without a
// row in Permissions going unnoticed.
func declaredOperations(t *testing.T) []Operation {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "permissions.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ops []Operation
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Operation" {
				continue
			}
			for i := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				ops = append(ops, Operation(lit.Value[1:len(lit.Value)-1]))
			}
		}
	}
	if len(ops) < 23 {
		t.Fatalf("found only %d Operation constants", len(ops))
	}
	return ops
}

func TestPermissionsCoverEveryOperation(t *testing.T) {
	ops := declaredOperations(t)
	seen := map[Operation]bool{}
	for _, op := range ops {
		if seen[op] {
			t.Errorf("two operations named %q", op)
		}
		seen[op] = true
		perm, ok := Permissions[op]
		if !ok {
			t.Errorf("%s has no row", op)
			continue
		}
		if len(perm.Delegated)+len(perm.Application) == 0 {
			t.Errorf("%s: no permission at all", op)
		}
		for _, list := range [][]string{perm.Delegated, perm.Application, perm.DelegatedRoles} {
			for i, name := range list {
				if name == "" || slices.Contains(list[:i], name) {
					t.Errorf("%s: empty or repeated entry %q in %q", op, name, list)
				}
			}
		}
		for _, name := range perm.Application {
			if selfOnly[name] || name == "User.ReadBasic.All" {
				t.Errorf("%s: %s is not an application permission", op, name)
			}
		}
	}
	for op := range Permissions {
		if !seen[op] {
			t.Errorf("row for undeclared operation %q", op)
		}
	}
}

func TestNeedsRole(t *testing.T) {
	for _, op := range declaredOperations(t) {
		want := op == OpAddSponsor || op == OpRemoveSponsor
		if got := Permissions[op].NeedsRole(); got != want {
			t.Errorf("%s: NeedsRole = %v, want %v", op, got, want)
		}
	}
}

func app(roles ...string) *Principal {
	return &Principal{Claims: Claims{TenantID: testTenant, ObjectID: testOID, Roles: roles}}
}

func user(scopes ...string) *Principal {
	return &Principal{Claims: Claims{TenantID: testTenant, ObjectID: testOID, Scopes: scopes}, Delegated: true}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name string
		p    *Principal
		op   Operation
		want bool
	}{
		{"app User.Read.All lists users", app("User.Read.All"), OpListUsers, true},
		{"app User.Read.All gets a user", app("User.Read.All"), OpGetUser, true},
		{"app User.Read.All reads a manager (NOTES)", app("User.Read.All"), OpGetManager, true},
		{"app User.Read.All cannot set a manager", app("User.Read.All"), OpSetManager, false},
		{"app User.ReadWrite.All sets a manager", app("User.ReadWrite.All"), OpSetManager, true},
		{"app Directory.ReadWrite.All removes a manager", app("Directory.ReadWrite.All"), OpRemoveManager, true},
		{"app Directory.ReadWrite.All cannot delete users", app("Directory.ReadWrite.All"), OpDeleteUser, false},
		{"app Group.Create creates groups", app("Group.Create"), OpCreateGroup, true},
		{"app GroupMember.Read.All reads groups", app("GroupMember.Read.All"), OpGetGroup, true},
		{"app Group.Read.All cannot read users", app("Group.Read.All"), OpListUsers, false},
		{"app OrgContact.Read.All lists contacts", app("OrgContact.Read.All"), OpListContacts, true},
		{"app Directory.Read.All resolves getByIds", app("Directory.Read.All"), OpGetByIDs, true},
		{"app User.Read.All cannot getByIds", app("User.Read.All"), OpGetByIDs, false},
		{"app without roles", app(), OpListUsers, false},
		{"scopes do not count for an app token", &Principal{Claims: Claims{Roles: []string{"x"}, Scopes: []string{"User.Read.All"}}}, OpListUsers, false},
		{"roles do not count for a delegated token", &Principal{Claims: Claims{Roles: []string{"User.Read.All"}, Scopes: []string{"x"}}, Delegated: true}, OpListUsers, false},
		{"user User.Read cannot read others", user("User.Read"), OpGetUser, false},
		{"user User.ReadBasic.All reads others", user("User.ReadBasic.All"), OpGetUser, true},
		{"user User.ReadBasic.All lists users", user("User.ReadBasic.All"), OpListUsers, true},
		{"user User.ReadBasic.All cannot read managers", user("User.ReadBasic.All"), OpGetManager, false},
		{"user User.Read.All reads direct reports", user("User.Read.All"), OpListDirectReports, true},
		{"user User.ReadWrite.All adds sponsors (role checked by caller)", user("User.ReadWrite.All"), OpAddSponsor, true},
		{"user User.ReadWrite cannot update others", user("User.ReadWrite"), OpUpdateUser, false},
		{"user Group.ReadWrite.All cannot create users", user("Group.ReadWrite.All"), OpCreateUser, false},
		{"unknown operation", app("Directory.ReadWrite.All"), Operation("nope"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Allowed(tt.op); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.op, got, tt.want)
			}
		})
	}
}

func TestAllowedOn(t *testing.T) {
	tests := []struct {
		name   string
		p      *Principal
		op     Operation
		target string
		want   bool
	}{
		{"User.Read reads self", user("User.Read"), OpGetUser, testOID, true},
		{"User.Read reads own manager", user("User.Read"), OpGetManager, testOID, true},
		{"User.Read reads own reports", user("User.Read"), OpListDirectReports, testOID, true},
		{"User.Read reads own sponsors", user("User.Read"), OpListSponsors, testOID, true},
		{"User.Read cannot read another", user("User.Read"), OpGetUser, "someone-else", false},
		{"User.Read cannot list users", user("User.Read"), OpListUsers, testOID, false},
		{"User.ReadWrite updates self", user("User.ReadWrite"), OpUpdateUser, testOID, true},
		{"User.ReadWrite cannot set own manager", user("User.ReadWrite"), OpSetManager, testOID, false},
		{"empty target is not self", &Principal{Claims: Claims{Scopes: []string{"User.Read"}}, Delegated: true}, OpGetUser, "", false},
		{"app acting on its own object gains nothing", app("User.Read"), OpGetUser, testOID, false},
		{"wider permission on another", user("User.Read.All"), OpGetManager, "someone-else", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.AllowedOn(tt.op, tt.target); got != tt.want {
				t.Errorf("AllowedOn(%s, %q) = %v, want %v", tt.op, tt.target, got, tt.want)
			}
		})
	}
}

func TestCanRead(t *testing.T) {
	tests := []struct {
		p                    *Principal
		user, group, contact bool
	}{
		{app("User.Read.All"), true, false, false},
		{app("GroupMember.Read.All"), false, true, false},
		{app("Group.ReadWrite.All"), false, true, false},
		{app("OrgContact.Read.All"), false, false, true},
		{app("Directory.Read.All"), true, true, true},
		{app("Directory.ReadWrite.All"), true, true, true},
		{app(), false, false, false},
		{user("User.ReadBasic.All"), true, false, false},
		{user("User.Read"), false, false, false},
		{user("Directory.Read.All"), true, true, true},
		{user("User.Read.All", "Group.Read.All"), true, true, false},
	}
	for _, tt := range tests {
		for kind, want := range map[string]bool{"user": tt.user, "group": tt.group, "orgContact": tt.contact, "device": false} {
			if got := tt.p.CanRead(kind); got != want {
				t.Errorf("roles %q scopes %q: CanRead(%s) = %v, want %v", tt.p.Roles, tt.p.Scopes, kind, got, want)
			}
		}
	}
}
