package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/localaks/localaks/internal/store"
)

// Request is one authenticated, routed ARM request.
type Request struct {
	HTTP       *http.Request
	Route      Route
	APIVersion string
	// Body is the request body, already size-limited.
	Body   []byte
	Caller Caller
	// BaseURL is the scheme and host the client used, e.g.
	// https://localhost:7443; URLs we hand out are built from it.
	BaseURL string

	pageSize int
}

// Caller is the authenticated principal of a request.
type Caller struct {
	TenantID string
	ObjectID string
	AppID    string
	// UserPrincipalName names a signed-in user ("" for applications and
	// managed identities).
	UserPrincipalName string
}

// Query returns the request's query parameters.
func (r *Request) Query() url.Values { return r.HTTP.URL.Query() }

// Method is the HTTP method.
func (r *Request) Method() string { return r.HTTP.Method }

// Subscription is the subscription the route is in, or "".
func (r *Request) Subscription() string { return r.Route.ID.SubscriptionID() }

// DecodeBody unmarshals the JSON body into v, mapping failures to ARM's
// InvalidRequestContent. An empty body is an error when required.
func (r *Request) DecodeBody(v any, required bool) error {
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		if required {
			return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'.")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return ErrInvalidRequestContent(describeJSONError(body, err))
	}
	if dec.More() {
		return ErrInvalidRequestContent("Additional text encountered after finished reading JSON content.")
	}
	return nil
}

// describeJSONError words a decode error the way ARM's deserialiser does:
// what went wrong and where (path, line, position).
func describeJSONError(body []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return fmt.Sprintf("%s. Path '', line %d, position %d.", upperFirst(strings.TrimPrefix(syn.Error(), "json: ")), line, col)
	case errors.As(err, &typ):
		line, col := position(body, typ.Offset)
		return fmt.Sprintf("Error converting value of JSON type %s to %s. Path '%s', line %d, position %d.", typ.Value, typ.Type, typ.Field, line, col)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "Unexpected end when deserializing object."
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

func position(body []byte, offset int64) (line, col int) {
	line, col = 1, 0
	for i := int64(0); i < offset && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return line, col
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// CheckPreconditions applies If-Match and If-None-Match to the current state
// of a resource (nil when it does not exist).
func (r *Request) CheckPreconditions(existing *store.Resource) error {
	if m := r.HTTP.Header.Get("If-Match"); m != "" {
		if existing == nil {
			return ErrPreconditionFailed()
		}
		if strings.TrimSpace(m) != "*" && !etagMatches(m, existing.ETag) {
			return ErrPreconditionFailed()
		}
	}
	if m := r.HTTP.Header.Get("If-None-Match"); m != "" && existing != nil {
		if strings.TrimSpace(m) == "*" || etagMatches(m, existing.ETag) {
			return ErrPreconditionFailed()
		}
	}
	return nil
}

// etagMatches compares a header list of ETags with a stored ETag, ignoring
// weakness and quotes.
func etagMatches(header, etag string) bool {
	for _, h := range strings.Split(header, ",") {
		if bareETag(h) == bareETag(etag) {
			return true
		}
	}
	return false
}

func bareETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

// Response is what a handler answers.
type Response struct {
	Status int
	// Body is marshalled as JSON; nil sends no body.
	Body   any
	Header http.Header
}

// OK is a 200 with a body.
func OK(body any) *Response { return &Response{Status: http.StatusOK, Body: body} }

// ViewOK answers 200 with the body read in one read transaction.
func ViewOK(ctx context.Context, st store.Store, read func(tx store.Tx) (any, error)) (*Response, error) {
	var body any
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		body, err = read(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return OK(body), nil
}

// Created is a 201 with a body.
func Created(body any) *Response { return &Response{Status: http.StatusCreated, Body: body} }

// NoContent is a 204.
func NoContent() *Response { return &Response{Status: http.StatusNoContent} }

// Deleted is ARM's answer to a synchronous DELETE: 200 when something was
// deleted, 204 when there was nothing to delete.
func Deleted(existed bool) *Response {
	if existed {
		return &Response{Status: http.StatusOK}
	}
	return NoContent()
}

// SetHeader sets a response header and returns the response.
func (r *Response) SetHeader(k, v string) *Response {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set(k, v)
	return r
}

// List is the body of a collection GET.
type List struct {
	Value    any    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}
