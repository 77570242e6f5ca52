package auth

// The permission table below follows Microsoft Graph v1.0's permission pages, whose tables live in
// github.com/microsoftgraph/microsoft-graph-docs-contrib under api-reference/v1.0/includes/permissions/:
// user-list, user-get, user-post-users, user-update, user-delete, user-list-manager, user-post-manager,
// user-delete-manager, user-list-directreports, user-list-sponsors, user-post-sponsors, user-delete-sponsors,
// group-list, group-get, group-post-groups, group-update, group-delete, orgcontact-list, orgcontact-get,
// orgcontact-get-manager, orgcontact-list-directreports, directoryobject-get and directoryobject-getbyids
// (each "-permissions.md"), and the pages that include them. Where a row departs from its page, a comment
// says why; shared/NOTES.md records the cases where Microsoft's pages disagree.

// Operation names one thing a caller can ask orgraph to do, at the granularity of Graph's permission pages.
type Operation string

const (
	OpListUsers                Operation = "users.list"
	OpGetUser                  Operation = "users.get"
	OpCreateUser               Operation = "users.create"
	OpUpdateUser               Operation = "users.update"
	OpDeleteUser               Operation = "users.delete"
	OpGetManager               Operation = "users.manager.get"
	OpSetManager               Operation = "users.manager.set"
	OpRemoveManager            Operation = "users.manager.remove"
	OpListDirectReports        Operation = "users.directReports.list"
	OpListSponsors             Operation = "users.sponsors.list"
	OpAddSponsor               Operation = "users.sponsors.add"
	OpRemoveSponsor            Operation = "users.sponsors.remove"
	OpListGroups               Operation = "groups.list"
	OpGetGroup                 Operation = "groups.get"
	OpCreateGroup              Operation = "groups.create"
	OpUpdateGroup              Operation = "groups.update"
	OpDeleteGroup              Operation = "groups.delete"
	OpListContacts             Operation = "contacts.list"
	OpGetContact               Operation = "contacts.get"
	OpGetContactManager        Operation = "contacts.manager.get"
	OpListContactDirectReports Operation = "contacts.directReports.list"
	OpGetDirectoryObject       Operation = "directoryObjects.get"
	OpGetByIDs                 Operation = "directoryObjects.getByIds"
)

// Permission is one row of Graph's permission table: any one listed permission suffices.
type Permission struct {
	Delegated      []string // least privileged first, then higher
	Application    []string // least privileged first, then higher
	DelegatedRoles []string // directory roles a delegated caller also needs (any one); empty = none
}

// NeedsRole reports whether a delegated caller also needs one of DelegatedRoles, which only the caller of
// this package can check, as it knows the signed-in user's directory roles.
func (p Permission) NeedsRole() bool { return len(p.DelegatedRoles) > 0 }

// selfOnly are delegated permissions that reach only the signed-in user's own object and relationships
// ("The User.Read permission allows the app to read the profile, and discover relationships such as the
// group membership, reports and manager of the signed-in user only", user-get.md).
var selfOnly = map[string]bool{"User.Read": true, "User.ReadWrite": true}

var (
	userRead      = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	userWrite     = []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}
	groupRead     = []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	groupWrite    = []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"}
	contactRead   = []string{"OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	contactRelate = []string{"OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All"}
	directoryRead = []string{"Directory.Read.All", "Directory.ReadWrite.All"}
	sponsorRoles  = []string{"Directory Writers", "User Administrator", "Global Administrator"}
)

// with returns first followed by rest in a new slice, so rows never share a backing array.
func with(first []string, rest ...string) []string {
	return append(append([]string{}, first...), rest...)
}

// Permissions is Graph's permission table for every Operation.
var Permissions = map[Operation]Permission{
	OpListUsers: {Delegated: with([]string{"User.ReadBasic.All"}, userRead...), Application: userRead},
	// The user-get include lists no application permission, as it serves /me too ("Application permissions
	// are not supported when using the /me endpoint"); GET /users/{id} takes User.Read.All, as user-list does.
	OpGetUser:    {Delegated: with([]string{"User.Read", "User.ReadWrite", "User.ReadBasic.All"}, userRead...), Application: userRead},
	OpCreateUser: {Delegated: userWrite, Application: userWrite},
	// User.EnableDisableAccount.All, User.ManageIdentities.All and the User-*.ReadWrite.All permissions
	// cover single properties; a whole-object check cannot honour them, so they are left out.
	OpUpdateUser: {Delegated: with([]string{"User.ReadWrite"}, userWrite...), Application: userWrite},
	OpDeleteUser: {Delegated: []string{"User.ReadWrite.All"}, Application: []string{"User.ReadWrite.All"}},
	// NOTES.md: Microsoft's pages disagree on app-only access to the manager; accept it. User.Read reaches
	// the signed-in user's own manager (user-get.md).
	OpGetManager:    {Delegated: with([]string{"User.Read"}, userRead...), Application: userRead},
	OpSetManager:    {Delegated: userWrite, Application: userWrite},
	OpRemoveManager: {Delegated: userWrite, Application: userWrite},
	// As for the manager, app-only access is accepted though the page lists none (NOTES.md).
	OpListDirectReports: {Delegated: with([]string{"User.Read"}, userRead...), Application: userRead},
	OpListSponsors: {
		Delegated:   []string{"User.Read", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		Application: []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	},
	OpAddSponsor:    {Delegated: userWrite, Application: userWrite, DelegatedRoles: sponsorRoles},
	OpRemoveSponsor: {Delegated: userWrite, Application: userWrite, DelegatedRoles: sponsorRoles},
	// A newer group-list/group-update table names Group-NestingSupport.ReadWrite.All (one property) as least
	// privileged; the row keeps the earlier table, which group-get still matches.
	OpListGroups:               {Delegated: groupRead, Application: groupRead},
	OpGetGroup:                 {Delegated: groupRead, Application: groupRead},
	OpCreateGroup:              {Delegated: groupWrite, Application: with([]string{"Group.Create"}, groupWrite...)},
	OpUpdateGroup:              {Delegated: groupWrite, Application: groupWrite},
	OpDeleteGroup:              {Delegated: []string{"Group.ReadWrite.All"}, Application: []string{"Group.ReadWrite.All"}},
	OpListContacts:             {Delegated: contactRead, Application: contactRead},
	OpGetContact:               {Delegated: contactRead, Application: contactRead},
	OpGetContactManager:        {Delegated: contactRelate, Application: contactRelate},
	OpListContactDirectReports: {Delegated: contactRelate, Application: contactRelate},
	OpGetDirectoryObject:       {Delegated: directoryRead, Application: directoryRead},
	OpGetByIDs:                 {Delegated: directoryRead, Application: directoryRead},
}

// granted is what the token grants Graph: roles for app-only tokens, scopes for delegated ones.
func (p *Principal) granted() []string {
	if p.Delegated {
		return p.Scopes
	}
	return p.Roles
}

// Allowed reports whether p may perform op on any target: an app-only token needs one of the row's
// Application permissions in its roles, a delegated one one of its Delegated permissions in its scopes,
// not counting self-only ones (User.Read, User.ReadWrite), which need AllowedOn. Directory roles
// (Permission.NeedsRole) are left to the caller.
func (p *Principal) Allowed(op Operation) bool {
	perm, ok := Permissions[op]
	return ok && p.allowed(perm, false)
}

// AllowedOn is Allowed for an operation on the object with id targetID: a delegated caller acting on its own
// user object may also use the self-only permissions.
func (p *Principal) AllowedOn(op Operation, targetID string) bool {
	perm, ok := Permissions[op]
	return ok && p.allowed(perm, p.Delegated && targetID != "" && targetID == p.ObjectID)
}

func (p *Principal) allowed(perm Permission, self bool) bool {
	need := perm.Application
	if p.Delegated {
		need = perm.Delegated
	}
	for _, g := range p.granted() {
		for _, n := range need {
			if g == n && (self || !selfOnly[n]) {
				return true
			}
		}
	}
	return false
}

// readers lists, per object kind, the permissions that read its full properties, for Graph's
// limited-information rule. User.ReadBasic.All is delegated-only, so listing it for apps grants nothing.
var readers = map[string][]string{
	"user":       {"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"group":      {"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"orgContact": {"OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}

// CanRead reports whether the caller may read full objects of kind "user", "group" or "orgContact"; objects
// it may not read appear in directoryObject collections with only @odata.type and id (Graph's
// limited-information rule).
func (p *Principal) CanRead(kind string) bool {
	for _, g := range p.granted() {
		for _, r := range readers[kind] {
			if g == r {
				return true
			}
		}
	}
	return false
}
