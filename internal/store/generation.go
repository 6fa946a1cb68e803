package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// AccessGeneration is the write counter of what decides who may do what:
// role assignments and definitions, the directory's objects and
// memberships, the management-group hierarchy. Every request's role check
// reads it; its caches rebuild when it moves.
const AccessGeneration = "access_generation"

// Generation reads a write counter kept in meta key ("" if never bumped).
// Caches of what the store holds remember the generation they were built
// at and rebuild when it has moved.
func Generation(tx Tx, key string) (string, error) {
	g, err := tx.GetMeta(key)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return g, err
}

// Bump moves the counter in meta key: a random name per store (so a cache
// never mistakes one store for another) and a count.
func Bump(tx Tx, key string) error {
	g, err := Generation(tx, key)
	if err != nil {
		return err
	}
	name, count, _ := strings.Cut(g, ":")
	if name == "" {
		name = uuid.NewString()
	}
	n, _ := strconv.Atoi(count)
	return tx.PutMeta(key, name+":"+strconv.Itoa(n+1))
}
