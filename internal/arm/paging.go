package arm

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/localaks/localaks/internal/store"
)

// Paginate returns the page of items (sorted by key) that the request's
// $skiptoken and $top select, and the nextLink for the rest ("" when there
// is none). $top sets the page size; without it the server's page size
// applies.
func Paginate[T any](req *Request, items []T, key func(T) string) ([]T, string, error) {
	size, after, err := pageParams(req)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if after != "" {
		for start < len(items) && key(items[start]) <= after {
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
	return page, nextLink(req, key(items[end-1])), nil
}

// pageParams reads $top and $skiptoken: the page size and the key the page
// starts after.
func pageParams(req *Request) (size int, after string, err error) {
	size = req.pageSize
	q := req.Query()
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 {
			return 0, "", Errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter '$top' is invalid. It must be a positive integer.", top)
		}
		size = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return 0, "", Errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter '$skiptoken' is invalid.", tok)
		}
		after = string(raw)
	}
	return size, after, nil
}

// nextLink is the request's URL continuing after key.
func nextLink(req *Request, key string) string {
	next := *req.HTTP.URL
	nq := next.Query()
	nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(key)))
	next.RawQuery = nq.Encode()
	return req.BaseURL + next.RequestURI()
}

// ListPage reads one page of resources matching q (and keep, when not nil)
// straight from the store, in key order, so large collections cost one page
// of work per request. It returns the page and its nextLink ("" at the end).
func ListPage(tx store.Tx, req *Request, q store.Query, keep func(*store.Resource) bool) ([]*store.Resource, string, error) {
	size, after, err := pageParams(req)
	if err != nil {
		return nil, "", err
	}
	var page []*store.Resource
	for {
		q.After, q.Limit = after, size+1
		batch, err := tx.List(q)
		if err != nil {
			return nil, "", err
		}
		for _, r := range batch {
			if keep != nil && !keep(r) {
				continue
			}
			if len(page) == size {
				// There is at least one more: continue after the last one
				// returned.
				return page, nextLink(req, strings.ToLower(page[len(page)-1].ID)), nil
			}
			page = append(page, r)
		}
		if len(batch) < q.Limit {
			return page, "", nil
		}
		after = strings.ToLower(batch[len(batch)-1].ID)
	}
}
