package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store"
)

// Error is an HTTP error as the client sees it. Message is for the client; Cause, when set, is logged and
// never sent, so internal detail cannot leak into a response.
type Error struct {
	Status  int
	Code    string
	Message string
	Cause   error
	// RetryAfter, when set, is sent in Retry-After (whole seconds, rounded up) instead of the default second.
	RetryAfter time.Duration
	// limit names the limit a 429 enforces, for RequestInfo.Throttled.
	limit string
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Graph's error codes for directory endpoints.
const (
	codeNotFound         = "Request_ResourceNotFound"
	codeBadRequest       = "Request_BadRequest"
	codeUnsupportedQuery = "Request_UnsupportedQuery"
	codeDenied           = "Authorization_RequestDenied"
	codeInvalidToken     = "InvalidAuthenticationToken"
)

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func unsupportedQuery(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeUnsupportedQuery, Message: fmt.Sprintf(format, args...)}
}

var errDenied = &Error{Status: http.StatusForbidden, Code: codeDenied, Message: "Insufficient privileges to complete the operation."}

// errManagerNotFound is Graph's exact answer for a user without a manager.
var errManagerNotFound = directory.NotFound("manager")

// toHTTP is the one place where errors of every layer become Graph's status and code.
func toHTTP(err error) *Error {
	var (
		he  *Error
		de  *directory.Error
		oe  *odata.Error
		te  *auth.TokenError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &de):
		switch de.Code {
		case directory.CodeNotFound:
			return &Error{Status: http.StatusNotFound, Code: codeNotFound, Message: de.Message}
		case directory.CodeUnsupported:
			return &Error{Status: http.StatusBadRequest, Code: codeUnsupportedQuery, Message: de.Message}
		default:
			return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: de.Message}
		}
	case errors.As(err, &oe):
		return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: oe.Message}
	case errors.As(err, &te):
		return &Error{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: te.Message, Cause: err}
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: codeBadRequest, Message: "The request body is too large."}
	case errors.Is(err, store.ErrTenantNotFound):
		return &Error{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: "Access token validation failure. The tenant does not exist.", Cause: err}
	case errors.Is(err, store.ErrUnavailable), errors.As(err, new(*auth.KeyFetchError)):
		// A trusted identity provider that cannot be reached, like a database, may be back at the next try.
		return &Error{Status: http.StatusServiceUnavailable, Code: "serviceNotAvailable", Message: "The service is temporarily unavailable. Retry the request later.", Cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "The request timed out.", Cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "generalException", Message: "An internal server error occurred.", Cause: err}
}

// writeError answers with Graph's error body. The innerError carries the ids the response headers carry,
// so a client's bug report can be matched with the server's log line.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	he := toHTTP(err)
	ids := requestIDs(r.Context())
	level := slog.LevelInfo
	if he.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"status", he.Status, "code", he.Code, "method", r.Method, "path", r.URL.Path, "request-id", ids.request}
	if he.Cause != nil {
		attrs = append(attrs, "cause", he.Cause.Error())
	}
	s.log.Log(r.Context(), level, "request failed", attrs...)
	if info := requestInfo(r.Context()); info != nil {
		info.Error = he.Code
		info.Throttled = he.limit
		info.StoreUnavailable = errors.Is(err, store.ErrUnavailable)
	}
	switch he.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(he.RetryAfter.Seconds())))))
	}
	type inner struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type body struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError inner  `json:"innerError"`
	}
	b, _ := json.Marshal(map[string]body{"error": {
		Code:    he.Code,
		Message: he.Message,
		InnerError: inner{
			Date:            time.Now().UTC().Format("2006-01-02T15:04:05"),
			RequestID:       ids.request,
			ClientRequestID: ids.client,
		},
	}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(he.Status)
	_, _ = w.Write(b)
}
