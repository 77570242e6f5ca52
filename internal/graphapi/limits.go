package graphapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/orgraph/orgraph/internal/odata"
)

// Throttle is a rate limit in Microsoft Graph's model for identity and access (users, groups, org contacts,
// directory objects): every request costs resource units, and a write also counts against two write quotas.
// Each budget is a token bucket, as Graph describes its own: it holds up to its whole budget and refills at
// the budget per window, so a client may spend a full budget at once and then keeps the budget's rate. A
// request that would overdraw any bucket is answered 429 and charged nothing. Buckets live in one node's
// memory: behind a load balancer each node enforces the budgets on its own share of the traffic.
type Throttle struct {
	// ResourceUnits is the budget per application and tenant per 10 seconds.
	ResourceUnits int
	// AppTenantWrites is the write budget per application and tenant per 150 seconds.
	AppTenantWrites int
	// TenantWrites is the write budget per tenant, over all applications, per 5 minutes.
	TenantWrites int
}

// Throttles are Graph's published budgets for tenants of each size (small: under 50 users, medium: up to
// 500, large: more); the write quotas are the same for every size.
var Throttles = map[string]Throttle{
	"small":  {ResourceUnits: 3500, AppTenantWrites: 3000, TenantWrites: 18000},
	"medium": {ResourceUnits: 5000, AppTenantWrites: 3000, TenantWrites: 18000},
	"large":  {ResourceUnits: 8000, AppTenantWrites: 3000, TenantWrites: 18000},
}

// The windows of Graph's budgets.
const (
	resourceUnitWindow   = 10 * time.Second
	appTenantWriteWindow = 150 * time.Second
	tenantWriteWindow    = 5 * time.Minute
)

// The limits a 429 names in RequestInfo.Throttled.
const (
	LimitInFlight        = "in_flight"
	LimitResourceUnits   = "resource_units"
	LimitAppTenantWrites = "app_tenant_writes"
	LimitTenantWrites    = "tenant_writes"
)

// tooManyRequests is Graph's throttling answer: the code and message of its documented 429 sample, and the
// seconds to wait in Retry-After.
func tooManyRequests(limit string, retry time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests", Message: "Please retry again later.", RetryAfter: retry, limit: limit}
}

// cost prices a request as Graph's table does: GET /users (the list) costs 2, POST
// /directoryObjects/getByIds 3, anything else 1; $select takes 1 off, $expand adds 1, $top under 20 takes
// 1 off, and nothing costs less than 1. A write (POST, PATCH, PUT, DELETE, except getByIds, which only
// reads) also costs one write. /me paths cost what the /users/{id} paths they stand for cost.
func cost(method string, rt *route, q *odata.Query) (units, writes int) {
	units = 1
	switch {
	case method == http.MethodGet && len(rt.pattern) == 1 && rt.pattern[0] == "users":
		units = 2
	case method == http.MethodPost && len(rt.pattern) == 2 && rt.pattern[0] == "directoryObjects":
		units = 3
	case method != http.MethodGet:
		writes = 1
	}
	if q.Select != nil {
		units--
	}
	if q.Expand != nil {
		units++
	}
	if q.HasTop && q.Top < 20 {
		units--
	}
	return max(units, 1), writes
}

// throttler keeps the buckets of one Throttle.
type throttler struct {
	budgets [3]budget
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	nextSweep time.Time
}

// budget is one of a Throttle's limits.
type budget struct {
	limit    string
	capacity float64
	perSec   float64 // refill rate
}

type bucketKey struct {
	budget      int // index in throttler.budgets
	tenant, app string
}

// bucket holds the units spent and not yet refilled, as of at.
type bucket struct {
	spent float64
	at    time.Time
}

// sweepEvery is how often buckets that have refilled completely are dropped, so that the map holds only the
// clients of the last few minutes.
const sweepEvery = time.Minute

func newThrottler(t Throttle, now func() time.Time) *throttler {
	b := func(limit string, n int, window time.Duration) budget {
		return budget{limit: limit, capacity: float64(n), perSec: float64(n) / window.Seconds()}
	}
	return &throttler{
		budgets: [3]budget{
			b(LimitResourceUnits, t.ResourceUnits, resourceUnitWindow),
			b(LimitAppTenantWrites, t.AppTenantWrites, appTenantWriteWindow),
			b(LimitTenantWrites, t.TenantWrites, tenantWriteWindow),
		},
		now:     now,
		buckets: map[bucketKey]*bucket{},
	}
}

// admit charges a request's units and writes to the buckets of its app and tenant, or, when that would
// overdraw one, charges nothing and returns the error to answer with, naming the bucket that needs the longest
// wait and waiting that long.
func (t *throttler) admit(tenant, app string, units, writes int) *Error {
	now := t.now()
	keys := [3]bucketKey{{0, tenant, app}, {1, tenant, app}, {2, tenant, ""}}
	costs := [3]float64{float64(units), float64(writes), float64(writes)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	var (
		spent [3]float64
		worst *Error
	)
	for i, k := range keys {
		if costs[i] == 0 {
			continue
		}
		b := &t.budgets[i]
		spent[i] = t.spent(k, now)
		if over := spent[i] + costs[i] - b.capacity; over > 0 {
			wait := time.Duration(over / b.perSec * float64(time.Second))
			if worst == nil || wait > worst.RetryAfter {
				worst = tooManyRequests(b.limit, wait)
			}
		}
	}
	if worst != nil {
		return worst
	}
	for i, k := range keys {
		if costs[i] == 0 {
			continue
		}
		bk := t.buckets[k]
		if bk == nil {
			bk = &bucket{}
			t.buckets[k] = bk
		}
		bk.spent, bk.at = spent[i]+costs[i], now
	}
	return nil
}

// spent returns what the bucket of k holds spent at now, after refilling.
func (t *throttler) spent(k bucketKey, now time.Time) float64 {
	bk := t.buckets[k]
	if bk == nil {
		return 0
	}
	refill := now.Sub(bk.at).Seconds() * t.budgets[k.budget].perSec
	return math.Max(0, bk.spent-refill)
}

func (t *throttler) sweep(now time.Time) {
	if now.Before(t.nextSweep) {
		return
	}
	t.nextSweep = now.Add(sweepEvery)
	for k := range t.buckets {
		if t.spent(k, now) == 0 {
			delete(t.buckets, k)
		}
	}
}

// throttleScope is Graph's x-ms-throttle-scope value for a limit: <scope>/<limit>/<app>/<tenant>.
func throttleScope(limit, tenant, app string) string {
	switch limit {
	case LimitAppTenantWrites:
		return "Tenant_Application/Write/" + app + "/" + tenant
	case LimitTenantWrites:
		return "Tenant/Write/" + app + "/" + tenant
	}
	return "Tenant_Application/ReadWrite/" + app + "/" + tenant
}

// throttle charges the request to its app's and tenant's budgets. With throttling on, every answer carries
// Graph's x-ms-resource-unit header, and a 429 its x-ms-throttle-scope and x-ms-throttle-information.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request, rt *route, c *call) error {
	if s.throttler == nil {
		return nil
	}
	units, writes := cost(r.Method, rt, c.query)
	w.Header().Set("x-ms-resource-unit", strconv.Itoa(units))
	// Graph keys its budgets by the app: a token without an appid is its own app.
	app := c.principal.AppID
	if app == "" {
		app = c.principal.ObjectID
	}
	err := s.throttler.admit(c.tenant, app, units, writes)
	if err == nil {
		return nil
	}
	w.Header().Set("x-ms-throttle-scope", throttleScope(err.limit, c.tenant, app))
	reason := "ResourceUnitLimitExceeded"
	if err.limit != LimitResourceUnits {
		reason = "WriteLimitExceeded"
	}
	w.Header().Set("x-ms-throttle-information", reason)
	return err
}

// acquire takes one of the in-flight slots, or reports that all are taken; without a cap it always succeeds.
func (s *Server) acquire() bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
	}
}

// errInFlight answers a request beyond the cap on concurrent requests: it is worth retrying at once.
var errInFlight = tooManyRequests(LimitInFlight, time.Second)
