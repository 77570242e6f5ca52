// Package bench measures orgraph under load: it generates a large synthetic organisation (Generate), writes it
// in the transfer format (Org.WriteJSONL) for the normal import path, and drives a server over HTTP with a
// keep-alive load generator (Run) through the scenarios of `orgraph bench` (Scenarios), so that every figure
// can be set against a bare net/http baseline measured the same way (BaselineHandler).
package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Config describes a synthetic organisation. Zero fields take the defaults in brackets.
type Config struct {
	// Users is the number of users of every sort: the management tree, the big team, the deep chain and the
	// guests [1,000,000].
	Users int
	// Seed makes the organisation: the same seed and config give the same bytes.
	Seed uint64
	// Domain is the tenant's domain, the part of member userPrincipalNames after the @ [contoso.example].
	Domain string
	// FanOut is the mean number of reports of a manager in the tree; each has FanOut-3 to FanOut+3 [8].
	FanOut int
	// ChainDepth is the length of the one extra management chain: its bottom user has ChainDepth managers
	// above it [1,000, directory.MaxLevels].
	ChainDepth int
	// BigTeam is the number of direct reports of the one manager with a very large team [1,000].
	BigTeam int
	// Groups and Contacts count groups and org contacts; each contact manages one user of the tree [1,000 each].
	Groups, Contacts int
	// GuestPercent is the share of users that are guests, each with 1 to 5 sponsors (users and groups) [1].
	GuestPercent float64
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Users, 1_000_000)
	def(&c.FanOut, 8)
	def(&c.ChainDepth, 1000)
	def(&c.BigTeam, 1000)
	def(&c.Groups, 1000)
	def(&c.Contacts, 1000)
	if c.GuestPercent == 0 {
		c.GuestPercent = 1
	}
	if c.Domain == "" {
		c.Domain = "contoso.example"
	}
}

// maxSponsors is how many sponsors a guest may have (directory.MaxSponsors).
const maxSponsors = 5

// Org is a generated organisation: its shape, and the samples of it the scenarios draw from. Objects are
// numbered in one index space: users [0, Users), then groups, then contacts; ids and properties are derived
// from the seed and the index, so nothing per object is kept but its manager and depth.
//
// Users are laid out as: the management tree [0, tree) in breadth-first order, rooted at user 0; the big
// team, BigTeam leaves reporting to one manager of the tree at depth 2 that has no other reports; the chain,
// ChainDepth+1 users each reporting to the one before, the first reporting to nobody; then the guests, who
// have sponsors and no manager. Contacts each manage one leaf of the tree in place of its manager.
type Org struct {
	cfg Config
	key uint64

	tree, bigStart, chainStart, guestStart int

	parent  []int32 // per user: the index of its manager (a user or a contact), -1 for none
	depth   []uint16
	reports []int32 // per user: its direct reports when generated
	dept    []uint8 // per user: its department, shared by a top manager's whole organisation

	sponsors [][]int32 // per guest: the indexes of its sponsors, users and groups

	// Big is the manager with BigTeam reports; ChainBottom the user whose chain of managers is ChainDepth long.
	Big, ChainBottom int
	// Managers8 samples the users of the tree with exactly 8 direct reports (in a tiny tree, those nearest to 8).
	Managers8 []int32
	// Deep samples the users at depth DeepLevel: 6, unless the tree is too small to reach it.
	Deep      []int32
	DeepLevel int
	// Movable are leaves of the tree whose moves change no sample; Targets are managers of the tree that are
	// not in a sample, in breadth-first (so depth) order, and targetsBelow[d] counts those at depth < d.
	Movable, Targets []int32
	targetsBelow     []int
	// SponsorGuests are the guests with fewer than maxSponsors sponsors, to which a sponsor can be added.
	SponsorGuests []int32
}

// deepLevel is the chain depth of the chain_depth_6 scenario.
const deepLevel = 6

// sampleSize bounds each sample.
const sampleSize = 1000

// Generate builds the shape of an organisation. It holds a few bytes per user; the objects themselves are
// produced by WriteJSONL.
func Generate(cfg Config) (*Org, error) {
	cfg.defaults()
	guests := int(float64(cfg.Users) * cfg.GuestPercent / 100)
	o := &Org{cfg: cfg, key: mix(cfg.Seed ^ 0x6f72677261706821)}
	o.guestStart = cfg.Users - guests
	o.chainStart = o.guestStart - (cfg.ChainDepth + 1)
	o.bigStart = o.chainStart - cfg.BigTeam
	o.tree = o.bigStart
	if minTree := max(100, 2*cfg.Contacts); o.tree < minTree {
		return nil, fmt.Errorf("bench: %d users leave %d for the management tree after %d guests, a chain of %d and a team of %d; want at least %d",
			cfg.Users, o.tree, guests, cfg.ChainDepth+1, cfg.BigTeam, minTree)
	}
	if cfg.ChainDepth > 65000 || cfg.FanOut < 1 || cfg.Groups < 1 || cfg.Users > 1<<31-1-cfg.Groups-cfg.Contacts {
		return nil, errors.New("bench: config out of range")
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x7368617065))
	n := cfg.Users
	o.parent = make([]int32, n)
	o.depth = make([]uint16, n)
	o.reports = make([]int32, n)
	o.dept = make([]uint8, n)
	for i := range o.parent {
		o.parent[i] = -1
	}

	// The tree, breadth first: each manager in turn takes its quota of the next users.
	o.Big = -1
	lo, hi := max(1, cfg.FanOut-3), cfg.FanOut+3
	quota := func(h int) int {
		if o.Big < 0 && o.depth[h] == 2 {
			o.Big = h // its team comes later
			return 0
		}
		return lo + r.IntN(hi-lo+1)
	}
	head, left := 0, quota(0)
	for i := 1; i < o.tree; i++ {
		for left == 0 {
			head++
			left = quota(head)
		}
		o.link(i, head)
		if o.depth[i] == 1 {
			o.dept[i] = uint8(r.IntN(len(departments)))
		} else {
			o.dept[i] = o.dept[head]
		}
		left--
	}
	if o.Big < 0 {
		o.Big = o.tree - 1
	}
	firstLeaf := head + 1
	for i := o.bigStart; i < o.chainStart; i++ {
		o.link(i, o.Big)
		o.dept[i] = o.dept[o.Big]
	}
	for i := o.chainStart + 1; i < o.guestStart; i++ {
		o.link(i, i-1)
	}
	o.ChainBottom = o.guestStart - 1

	// Each contact manages one leaf of the tree, spread over the leaves.
	leaves := o.tree - firstLeaf
	for k := range cfg.Contacts {
		i := firstLeaf + k*leaves/cfg.Contacts
		o.reports[o.parent[i]]--
		o.parent[i] = int32(o.contact(k))
		o.depth[i] = 1
	}

	o.guestSponsors(r)
	o.samples(firstLeaf)
	return o, nil
}

// link makes user m the manager of user i.
func (o *Org) link(i, m int) {
	o.parent[i] = int32(m)
	o.depth[i] = o.depth[m] + 1
	o.reports[m]++
}

func (o *Org) guestSponsors(r *rand.Rand) {
	o.sponsors = make([][]int32, o.cfg.Users-o.guestStart)
	for g := range o.sponsors {
		k := 1 + r.IntN(maxSponsors)
		list := make([]int32, 0, k)
		for len(list) < k {
			s := int32(r.IntN(o.tree))
			if r.IntN(10) < 3 {
				s = int32(o.group(r.IntN(o.cfg.Groups)))
			}
			if !contains(list, s) {
				list = append(list, s)
			}
		}
		o.sponsors[g] = list
		if k < maxSponsors {
			o.SponsorGuests = append(o.SponsorGuests, int32(o.guestStart+g))
		}
	}
}

func contains(list []int32, v int32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// samples picks the users the scenarios read and write, so that writes never change what reads measure.
func (o *Org) samples(firstLeaf int) {
	var m8, deep []int32
	maxDepth := 0
	for i := range o.tree {
		if o.parent[i] >= 0 && int(o.parent[i]) < o.cfg.Users {
			maxDepth = max(maxDepth, int(o.depth[i]))
		}
	}
	o.DeepLevel = min(deepLevel, maxDepth)
	// Managers with exactly 8 reports, or in a tree too small to have one, those nearest to 8.
	best := 1 << 30
	for i := range o.tree {
		if o.reports[i] == 0 || i == o.Big {
			continue
		}
		if d := abs(int(o.reports[i]) - 8); d < best {
			best, m8 = d, m8[:0]
		}
		if abs(int(o.reports[i])-8) == best {
			m8 = append(m8, int32(i))
		}
	}
	for i := range o.tree {
		if int(o.depth[i]) == o.DeepLevel && o.parent[i] >= 0 && int(o.parent[i]) < o.cfg.Users {
			deep = append(deep, int32(i))
		}
	}
	o.Managers8, o.Deep = spread(m8, sampleSize), spread(deep, sampleSize)

	reserved := make([]bool, o.cfg.Users)
	for _, m := range o.Managers8 {
		reserved[m] = true
	}
	for _, d := range o.Deep {
		reserved[d] = true
	}
	reserved[o.Big] = true
	for i := range o.tree {
		p := int(o.parent[i])
		switch {
		case reserved[i]:
		case o.reports[i] > 0:
			o.Targets = append(o.Targets, int32(i))
		case i >= firstLeaf && p >= 0 && p < o.cfg.Users && !reserved[p]:
			o.Movable = append(o.Movable, int32(i))
		}
	}
	o.targetsBelow = make([]int, maxDepth+2)
	for d := range o.targetsBelow {
		k := 0
		for k < len(o.Targets) && int(o.depth[o.Targets[k]]) < d {
			k++
		}
		o.targetsBelow[d] = k
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// spread returns at most n elements of list, evenly spaced.
func spread(list []int32, n int) []int32 {
	if len(list) <= n {
		return list
	}
	out := make([]int32, n)
	for k := range out {
		out[k] = list[k*len(list)/n]
	}
	return out
}

// Users, Groups and Contacts count the objects; Guests the users among them that are guests.
func (o *Org) Users() int    { return o.cfg.Users }
func (o *Org) Groups() int   { return o.cfg.Groups }
func (o *Org) Contacts() int { return o.cfg.Contacts }
func (o *Org) Guests() int   { return o.cfg.Users - o.guestStart }

// Managers counts the manager relationships; Sponsors the sponsor relationships.
func (o *Org) Managers() int {
	n := 0
	for _, p := range o.parent {
		if p >= 0 {
			n++
		}
	}
	return n
}

func (o *Org) Sponsors() int {
	n := 0
	for _, s := range o.sponsors {
		n += len(s)
	}
	return n
}

func (o *Org) group(k int) int   { return o.cfg.Users + k }
func (o *Org) contact(k int) int { return o.cfg.Users + o.cfg.Groups + k }

// Manager returns the index of the manager of user i as generated (a user or a contact), or -1.
func (o *Org) Manager(i int) int { return int(o.parent[i]) }

// Depth returns how many managers are above user i as generated.
func (o *Org) Depth(i int) int { return int(o.depth[i]) }

// Reports returns how many direct reports user i has as generated.
func (o *Org) Reports(i int) int { return int(o.reports[i]) }

// IsGuest reports whether user i is a guest; GuestSponsors lists a guest's sponsors.
func (o *Org) IsGuest(i int) bool { return i >= o.guestStart && i < o.cfg.Users }

func (o *Org) GuestSponsors(i int) []int32 { return o.sponsors[i-o.guestStart] }

// GivenNames lists the given names users are drawn from: prefixes of displayName that match many users.
func (o *Org) GivenNames() []string { return givenNames }

// TreeSize is the number of users in the management tree, which are users [0, TreeSize).
func (o *Org) TreeSize() int { return o.tree }

// ID returns the id of the object with index g: a version 4 UUID derived from the seed, unique because its
// last four bytes are g, and spread over the key space as real ids are.
func (o *Org) ID(g int) string {
	var b uuid.UUID
	h1 := mix(o.key ^ uint64(g)*0x9e3779b97f4a7c15)
	h2 := mix(h1 + 0x632be59bd9b4e019)
	binary.BigEndian.PutUint64(b[0:8], h1)
	binary.BigEndian.PutUint32(b[8:12], uint32(h2))
	binary.BigEndian.PutUint32(b[12:16], uint32(g))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b.String()
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// names returns the given name and surname of user i.
func (o *Org) names(i int) (string, string) {
	h := mix(o.key + uint64(i)*0xd1b54a32d192ed03)
	return givenNames[h%uint64(len(givenNames))], surnames[(h>>32)%uint64(len(surnames))]
}

// UPN returns the userPrincipalName of user i.
func (o *Org) UPN(i int) string {
	given, surname := o.names(i)
	local := strings.ToLower(given) + "." + strings.ToLower(surname) + strconv.Itoa(i)
	if o.IsGuest(i) {
		return local + "_" + partnerDomains[i%len(partnerDomains)] + "#EXT#@" + o.cfg.Domain
	}
	return local + "@" + o.cfg.Domain
}

// DisplayName returns the displayName of user i.
func (o *Org) DisplayName(i int) string {
	given, surname := o.names(i)
	return given + " " + surname
}

// WriteJSONL writes the organisation in the transfer format: the header, users, groups, contacts, then the
// sponsor lines.
func (o *Org) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(`{"orgraph":1,"kind":"header"}` + "\n")
	pcg := rand.NewPCG(0, 0)
	r := rand.New(pcg)
	var l line
	for i := range o.cfg.Users {
		pcg.Seed(o.cfg.Seed, uint64(i))
		o.user(&l, r, i)
		if _, err := bw.Write(l.b); err != nil {
			return err
		}
	}
	for k := range o.cfg.Groups {
		g := o.group(k)
		pcg.Seed(o.cfg.Seed, uint64(g))
		o.groupLine(&l, r, k)
		if _, err := bw.Write(l.b); err != nil {
			return err
		}
	}
	for k := range o.cfg.Contacts {
		c := o.contact(k)
		pcg.Seed(o.cfg.Seed, uint64(c))
		o.contactLine(&l, r, k)
		if _, err := bw.Write(l.b); err != nil {
			return err
		}
	}
	for g, list := range o.sponsors {
		user := o.ID(o.guestStart + g)
		for _, s := range list {
			l.b = append(l.b[:0], `{"kind":"sponsor","user":"`...)
			l.b = append(l.b, user...)
			l.b = append(l.b, `","sponsor":"`...)
			l.b = append(l.b, o.ID(int(s))...)
			l.b = append(l.b, "\"}\n"...)
			if _, err := bw.Write(l.b); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// epoch is the earliest createdDateTime.
var epoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

func dateTime(r *rand.Rand, from time.Time, span time.Duration) string {
	return from.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second).Format(time.RFC3339)
}

func (o *Org) user(l *line, r *rand.Rand, i int) {
	given, surname := o.names(i)
	upn := o.UPN(i)
	l.open("user", o.ID(i))
	created := dateTime(r, epoch, 10*365*24*time.Hour)
	off := offices[r.IntN(len(offices))]
	if o.IsGuest(i) {
		partner := partnerDomains[i%len(partnerDomains)]
		mail := strings.ToLower(given) + "." + strings.ToLower(surname) + "@" + partner
		l.boolean("accountEnabled", true)
		l.str("createdDateTime", created)
		l.str("creationType", "Invitation")
		l.str("displayName", given+" "+surname+" ("+partner+")")
		l.str("externalUserState", "Accepted")
		l.str("givenName", given)
		l.str("mail", mail)
		l.str("mailNickname", strings.SplitN(upn, "#", 2)[0])
		l.strs("otherMails", mail)
		l.str("surname", surname)
		l.str("usageLocation", off.usage)
		l.str("userPrincipalName", upn)
		l.str("userType", "Guest")
		l.close("")
		return
	}
	title := jobTitles[r.IntN(len(jobTitles))]
	if o.reports[i] > 0 {
		title = managerTitles[min(int(o.depth[i]), len(managerTitles)-1)]
	}
	employeeType := "Employee"
	if r.IntN(10) == 0 {
		employeeType = "Contractor"
	}
	nick, _, _ := strings.Cut(upn, "@")
	l.boolean("accountEnabled", r.IntN(50) != 0)
	l.strs("businessPhones", off.phone+fmt.Sprintf("%04d", r.IntN(10000)))
	l.str("city", off.city)
	l.str("companyName", "Contoso")
	l.str("country", off.country)
	l.str("createdDateTime", created)
	l.str("department", departments[o.dept[i]])
	l.str("displayName", given+" "+surname)
	l.str("employeeHireDate", dateTime(r, epoch.AddDate(-5, 0, 0), 5*365*24*time.Hour))
	l.str("employeeId", "E"+strconv.Itoa(1_000_000+i))
	l.str("employeeType", employeeType)
	l.str("givenName", given)
	l.str("jobTitle", title)
	l.str("mail", upn)
	l.str("mailNickname", nick)
	l.str("mobilePhone", off.phone+fmt.Sprintf("%04d", r.IntN(10000)))
	l.str("officeLocation", off.city+" "+strconv.Itoa(1+r.IntN(40))+"/"+strconv.Itoa(100+r.IntN(900)))
	l.str("preferredLanguage", off.lang)
	l.str("surname", surname)
	l.str("usageLocation", off.usage)
	l.str("userPrincipalName", upn)
	l.str("userType", "Member")
	manager := ""
	if p := o.parent[i]; p >= 0 {
		manager = o.ID(int(p))
	}
	l.close(manager)
}

func (o *Org) groupLine(l *line, r *rand.Rand, k int) {
	team := teamWords[k%len(teamWords)]
	dept := departments[r.IntN(len(departments))]
	name := fmt.Sprintf("%s %s %d", dept, team, k)
	nick := strings.ToLower(strings.NewReplacer(" ", "-").Replace(name))
	unified := r.IntN(2) == 0
	l.open("group", o.ID(o.group(k)))
	l.str("createdDateTime", dateTime(r, epoch, 10*365*24*time.Hour))
	l.str("description", "The "+team+" team of "+dept)
	l.str("displayName", name)
	if unified {
		l.strs("groupTypes", "Unified")
		l.str("visibility", []string{"Private", "Public"}[r.IntN(2)])
	} else {
		l.strs("groupTypes")
	}
	l.boolean("mailEnabled", unified)
	l.str("mailNickname", nick)
	l.boolean("securityEnabled", !unified || r.IntN(2) == 0)
	l.close("")
}

func (o *Org) contactLine(l *line, r *rand.Rand, k int) {
	c := o.contact(k)
	given, surname := o.names(c)
	partner := partnerDomains[k%len(partnerDomains)]
	mail := strings.ToLower(given) + "." + strings.ToLower(surname) + strconv.Itoa(k) + "@" + partner
	off := offices[r.IntN(len(offices))]
	phone := off.phone + fmt.Sprintf("%04d", r.IntN(10000))
	l.open("orgContact", o.ID(c))
	l.raw("addresses", `[{"city":"`+off.city+`","countryOrRegion":"`+off.country+`","officeLocation":null,"postalCode":null,"state":null,"street":null}]`)
	l.str("companyName", strings.TrimSuffix(partner, ".example"))
	l.str("department", departments[r.IntN(len(departments))])
	l.str("displayName", given+" "+surname)
	l.str("givenName", given)
	l.str("jobTitle", "Contract Manager")
	l.str("mail", mail)
	l.str("mailNickname", strings.ToLower(given)+strings.ToLower(surname)+strconv.Itoa(k))
	l.raw("phones", `[{"number":"`+phone+`","type":"business"}]`)
	l.strs("proxyAddresses", "SMTP:"+mail)
	l.str("surname", surname)
	l.close("")
}

// line builds one object line of the transfer format.
type line struct {
	b     []byte
	first bool
}

func (l *line) open(kind, id string) {
	l.b = append(l.b[:0], `{"kind":"`...)
	l.b = append(l.b, kind...)
	l.b = append(l.b, `","id":"`...)
	l.b = append(l.b, id...)
	l.b = append(l.b, `","props":{`...)
	l.first = true
}

func (l *line) key(k string) {
	if !l.first {
		l.b = append(l.b, ',')
	}
	l.first = false
	l.b = appendString(l.b, k)
	l.b = append(l.b, ':')
}

func (l *line) str(k, v string) {
	l.key(k)
	l.b = appendString(l.b, v)
}

func (l *line) boolean(k string, v bool) {
	l.key(k)
	l.b = strconv.AppendBool(l.b, v)
}

func (l *line) strs(k string, vs ...string) {
	l.key(k)
	l.b = append(l.b, '[')
	for n, v := range vs {
		if n > 0 {
			l.b = append(l.b, ',')
		}
		l.b = appendString(l.b, v)
	}
	l.b = append(l.b, ']')
}

func (l *line) raw(k, json string) {
	l.key(k)
	l.b = append(l.b, json...)
}

func (l *line) close(manager string) {
	l.b = append(l.b, '}')
	if manager != "" {
		l.b = append(l.b, `,"manager":"`...)
		l.b = append(l.b, manager...)
		l.b = append(l.b, '"')
	}
	l.b = append(l.b, "}\n"...)
}

// appendString appends s as a JSON string. UTF-8 passes through; quotes, backslashes and control characters
// are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
