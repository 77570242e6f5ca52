package identity

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/orgraph/orgraph/internal/store"
)

// Admin serves the tenant administration API under /admin/: a test suite creates a tenant (with an app and
// its secret) per test and deletes it afterwards. It is guarded by its own credential, separate from Graph's
// tokens, because it acts across tenants.
type Admin struct {
	store store.Store
	key   string
	// OnDelete, when set, is told of each deleted tenant (the Graph server forgets it at once).
	OnDelete func(tenantID string)
}

// NewAdmin returns the admin API; with an empty key it answers every request 404, as if it did not exist.
func NewAdmin(st store.Store, key string) *Admin { return &Admin{store: st, key: key} }

type tenantJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdDateTime"`
}

func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.key == "" {
		http.NotFound(w, r)
		return
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(a.key)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orgraph admin"`)
		adminError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The admin key is missing or wrong.")
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/admin"), "/")
	switch {
	case path == "tenants" && r.Method == http.MethodPost:
		var body struct {
			Name string `json:"name"`
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err == nil && len(strings.TrimSpace(string(data))) > 0 {
			err = json.Unmarshal(data, &body)
		}
		if err != nil {
			adminError(w, http.StatusBadRequest, "Request_BadRequest", "The body must be a JSON object such as {\"name\":\"my test\"}.")
			return
		}
		if body.Name == "" {
			body.Name = "tenant"
		}
		c, err := CreateTenant(r.Context(), a.store, body.Name)
		if err != nil {
			adminError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The tenant could not be created.")
			return
		}
		writeJSON(w, http.StatusCreated, c)
	case path == "tenants" && r.Method == http.MethodGet:
		ts, err := a.store.Tenants(r.Context())
		if err != nil {
			adminError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The tenants could not be read.")
			return
		}
		out := make([]tenantJSON, len(ts))
		for i, t := range ts {
			out[i] = tenantJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	case strings.HasPrefix(path, "tenants/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(path, "tenants/")
		err := a.store.DeleteTenant(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrTenantNotFound):
			adminError(w, http.StatusNotFound, "Request_ResourceNotFound", "Tenant '"+id+"' does not exist.")
		case err != nil:
			adminError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The tenant could not be deleted.")
		default:
			if a.OnDelete != nil {
				a.OnDelete(id)
			}
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		adminError(w, http.StatusNotFound, "Request_ResourceNotFound", "No such admin resource.")
	}
}

// adminError answers in Graph's error shape, so one client-side error type serves both APIs.
func adminError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
