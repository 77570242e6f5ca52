// Package demo builds the demonstration organisation that `orgraph serve --demo` loads: a company of about
// eighty people over seven levels of management, two external org contacts who manage people, three guests
// with user and group sponsors, and a few groups. Ids are derived from names, so every run produces the same
// directory and the README's example URLs keep working.
package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/orgraph/orgraph/internal/directory"
)

// Domain is the demo tenant's mail domain, the one Graph's own examples use.
const Domain = "contoso.onmicrosoft.com"

// namespace makes the demo's ids stable (UUID v5 of each object's mail nickname).
var namespace = uuid.MustParse("6f0b1a0e-8c7e-4b7a-9d7c-2d1f0e5a4c3b")

// ID returns the id the demo gives the object with this mail nickname.
func ID(nickname string) string { return uuid.NewSHA1(namespace, []byte(nickname)).String() }

type person struct {
	given, sur, title, dept string
	reports                 []person
}

// The org chart. Each level's people report to the person above; depth 7 from the CEO to the interns.
var org = person{"Patti", "Fernandez", "CEO", "Executive", []person{
	{"Bianca", "Pisani", "VP Finance", "Finance", []person{
		{"Alex", "Wilber", "Finance Director", "Finance", []person{
			{"Sara", "Davis", "Controller", "Finance", []person{
				{"Lee", "Gu", "Accounting Lead", "Finance", []person{
					{"Diego", "Siciliani", "Accountant", "Finance", []person{
						{"Mia", "Chen", "Accounting Intern", "Finance", nil},
						{"Noah", "Kim", "Accounting Intern", "Finance", nil},
					}},
					{"Grady", "Archie", "Accountant", "Finance", nil},
					{"Irvin", "Sayers", "Accountant", "Finance", nil},
				}},
				{"Lynne", "Robbins", "Payroll Lead", "Finance", []person{
					{"Henrietta", "Mueller", "Payroll Specialist", "Finance", nil},
					{"Isaiah", "Langer", "Payroll Specialist", "Finance", nil},
				}},
			}},
			{"Johanna", "Lorenz", "Treasury Manager", "Finance", []person{
				{"Joni", "Sherman", "Treasury Analyst", "Finance", nil},
				{"Lidia", "Holloway", "Treasury Analyst", "Finance", nil},
			}},
		}},
		{"Megan", "Bowen", "FP&A Director", "Finance", []person{
			{"Miriam", "Graham", "FP&A Manager", "Finance", []person{
				{"Nestor", "Wilke", "Financial Analyst", "Finance", nil},
				{"Pradeep", "Gupta", "Financial Analyst", "Finance", nil},
			}},
		}},
	}},
	{"Adele", "Vance", "VP Engineering", "Engineering", []person{
		{"Allan", "Deyoung", "Director of Platform", "Engineering", []person{
			{"Christie", "Cline", "Engineering Manager", "Engineering", []person{
				{"Debra", "Berger", "Tech Lead", "Engineering", []person{
					{"Emily", "Braun", "Software Engineer", "Engineering", []person{
						{"Enrico", "Cattaneo", "Engineering Intern", "Engineering", nil},
					}},
					{"Gerhart", "Moller", "Software Engineer", "Engineering", nil},
					{"Isabella", "Simonsen", "Software Engineer", "Engineering", nil},
				}},
				{"Jordan", "Miller", "Tech Lead", "Engineering", []person{
					{"Karin", "Nilsen", "Software Engineer", "Engineering", nil},
					{"Lars", "Olsen", "Software Engineer", "Engineering", nil},
					{"Maja", "Berg", "Site Reliability Engineer", "Engineering", nil},
				}},
			}},
			{"Nadia", "Rahman", "Engineering Manager", "Engineering", []person{
				{"Omar", "Haddad", "Software Engineer", "Engineering", nil},
				{"Priya", "Nair", "Software Engineer", "Engineering", nil},
				{"Quinn", "Taylor", "QA Engineer", "Engineering", nil},
			}},
		}},
		{"Rafael", "Costa", "Director of Product Engineering", "Engineering", []person{
			{"Sofia", "Rossi", "Engineering Manager", "Engineering", []person{
				{"Tomas", "Novak", "Software Engineer", "Engineering", nil},
				{"Uma", "Patel", "Software Engineer", "Engineering", nil},
				{"Victor", "Dubois", "Designer", "Engineering", nil},
			}},
		}},
	}},
	{"Ben", "Walters", "VP Sales", "Sales", []person{
		{"Cameron", "White", "Sales Director EMEA", "Sales", []person{
			{"Dana", "Schmidt", "Sales Manager", "Sales", []person{
				{"Elena", "Petrova", "Account Executive", "Sales", nil},
				{"Finn", "Larsen", "Account Executive", "Sales", nil},
				{"Greta", "Lind", "Sales Development Rep", "Sales", nil},
			}},
		}},
		{"Hiro", "Tanaka", "Sales Director APAC", "Sales", []person{
			{"Ines", "Moreau", "Sales Manager", "Sales", []person{
				{"Jae", "Park", "Account Executive", "Sales", nil},
				{"Kenji", "Sato", "Account Executive", "Sales", nil},
			}},
		}},
	}},
	{"Laura", "Martin", "VP People", "Human Resources", []person{
		{"Marco", "Bianchi", "HR Director", "Human Resources", []person{
			{"Nora", "Hughes", "HR Business Partner", "Human Resources", nil},
			{"Oscar", "Lopez", "Recruiter", "Human Resources", nil},
			{"Paula", "Silva", "Recruiter", "Human Resources", nil},
		}},
	}},
	{"Ruth", "Cohen", "General Counsel", "Legal", []person{
		{"Samuel", "Adams", "Corporate Counsel", "Legal", nil},
		{"Tara", "Singh", "Paralegal", "Legal", nil},
	}},
}}

// contacts are external people kept as org contacts; each manages the people listed under them.
var contacts = []struct {
	given, sur, company, title string
	manages                    []person
}{
	{"Wanda", "Kowalski", "Fabrikam Consulting", "Interim Head of Marketing", []person{
		{"Xavier", "Ortiz", "Marketing Manager", "Marketing", nil},
		{"Yara", "Haddad", "Content Strategist", "Marketing", nil},
		{"Zoe", "Fischer", "Designer", "Marketing", nil},
	}},
	{"Arjun", "Mehta", "Northwind Traders", "Managed Services Lead", []person{
		{"Beatriz", "Souza", "IT Support Engineer", "IT", nil},
		{"Carlos", "Mendes", "IT Support Engineer", "IT", nil},
	}},
}

var groups = []struct{ name, nick, desc string }{
	{"All Company", "allcompany", "Everyone at Contoso"},
	{"Engineering", "engineering", "The engineering department"},
	{"Finance", "finance", "The finance department"},
	{"Partner Sponsors", "partnersponsors", "People who sponsor guest accounts"},
}

// guests are external users invited into the tenant, each with sponsors (user nicknames or group nicknames).
var guests = []struct {
	given, sur, home string
	sponsors         []string
}{
	{"Gail", "Brennan", "fabrikam.com", []string{"adele.vance", "partnersponsors"}},
	{"Hector", "Ruiz", "northwindtraders.com", []string{"ben.walters", "cameron.white", "engineering"}},
	{"Ilse", "Becker", "adventure-works.com", []string{"laura.martin"}},
}

func nickname(given, sur string) string { return strings.ToLower(given + "." + sur) }

// Load adds the demo organisation to a tenant through the directory service, so every invariant is checked
// as for any other write.
func Load(ctx context.Context, svc *directory.Service, tenant string) error {
	l := loader{ctx: ctx, svc: svc, tenant: tenant}
	l.person(org, "")
	for _, c := range contacts {
		nick := nickname(c.given, c.sur)
		l.add(directory.KindOrgContact, nick, map[string]any{
			"displayName": c.given + " " + c.sur, "givenName": c.given, "surname": c.sur,
			"companyName": c.company, "jobTitle": c.title, "mail": nick + "@" + strings.ToLower(strings.ReplaceAll(c.company, " ", "")) + ".com",
			"mailNickname": nick,
		})
		for _, p := range c.manages {
			l.person(p, ID(nick))
		}
	}
	for _, g := range groups {
		l.add(directory.KindGroup, g.nick, map[string]any{
			"displayName": g.name, "mailNickname": g.nick, "description": g.desc,
			"mailEnabled": false, "securityEnabled": true, "groupTypes": []any{},
		})
	}
	for _, g := range guests {
		nick := nickname(g.given, g.sur)
		ext := strings.ReplaceAll(nick+"@"+g.home, "@", "_") + "#EXT#@" + Domain
		l.add(directory.KindUser, nick, map[string]any{
			"displayName": g.given + " " + g.sur, "givenName": g.given, "surname": g.sur,
			"mail": nick + "@" + g.home, "userPrincipalName": ext, "mailNickname": strings.ReplaceAll(nick, ".", "_"),
			"userType": "Guest", "accountEnabled": true, "creationType": "Invitation", "externalUserState": "Accepted",
		})
		for _, sp := range g.sponsors {
			if l.err == nil {
				l.err = svc.AddSponsor(ctx, tenant, ID(nick), directory.Ref{ID: ID(sp)})
			}
		}
	}
	return l.err
}

type loader struct {
	ctx    context.Context
	svc    *directory.Service
	tenant string
	err    error
}

func (l *loader) add(kind directory.Kind, nick string, props map[string]any) {
	if l.err != nil {
		return
	}
	if err := l.svc.Import(l.ctx, l.tenant, &directory.Object{ID: ID(nick), Kind: kind, Props: props}); err != nil {
		l.err = fmt.Errorf("demo: %s: %w", nick, err)
	}
}

func (l *loader) person(p person, managerID string) {
	nick := nickname(p.given, p.sur)
	l.add(directory.KindUser, nick, map[string]any{
		"displayName": p.given + " " + p.sur, "givenName": p.given, "surname": p.sur,
		"jobTitle": p.title, "department": p.dept, "mail": nick + "@" + Domain,
		"userPrincipalName": nick + "@" + Domain, "mailNickname": nick, "accountEnabled": true,
		"userType": "Member", "businessPhones": []any{}, "officeLocation": "Building " + p.dept[:1], "preferredLanguage": "en-US",
		"usageLocation": "US", "companyName": "Contoso",
	})
	if managerID != "" && l.err == nil {
		l.err = l.svc.SetManager(l.ctx, l.tenant, ID(nick), directory.Ref{ID: managerID})
	}
	for _, r := range p.reports {
		l.person(r, ID(nick))
	}
}
