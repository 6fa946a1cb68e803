package arm

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// Paginate returns the page of items (sorted by key) that the request's
// $skiptoken and $top select, and the nextLink for the rest ("" when there
// is none). $top sets the page size; without it the server's page size
// applies.
func Paginate[T any](req *Request, items []T, key func(T) string) ([]T, string, error) {
	size := req.pageSize
	q := req.Query()
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 {
			return nil, "", Errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter '$top' is invalid. It must be a positive integer.", top)
		}
		size = n
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, "", Errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter '$skiptoken' is invalid.", tok)
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	end := len(items)
	if size > 0 && start+size < end {
		end = start + size
	}
	page := items[start:end]
	if end == len(items) {
		return page, "", nil
	}
	next := *req.HTTP.URL
	nq := next.Query()
	nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1]))))
	next.RawQuery = nq.Encode()
	return page, req.BaseURL + next.RequestURI(), nil
}
