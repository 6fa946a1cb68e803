package arm

import (
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/localaks/localaks/internal/store"
)

// ARM's tag limits.
const (
	maxTags         = 50
	maxTagNameLen   = 512
	maxTagValueLen  = 256
	reservedTagRune = `<>%&\?/`
)

// ValidateTags applies ARM's tag rules to a resource's tags.
func ValidateTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return Errorf(http.StatusBadRequest, "InvalidTagCount",
			"The number of tags (%d) exceeds the limit of %d tags per resource.", len(tags), maxTags)
	}
	var bad []string
	for name, value := range tags {
		if strings.ContainsAny(name, reservedTagRune) || strings.ContainsFunc(name, unicode.IsControl) {
			bad = append(bad, name)
			continue
		}
		if name == "" {
			return Errorf(http.StatusBadRequest, "InvalidTagNameCharacters", "Tag names cannot be empty.")
		}
		if len(name) > maxTagNameLen {
			return Errorf(http.StatusBadRequest, "InvalidTagNameLength",
				"The tag name '%s' exceeds the maximum length of %d characters.", name, maxTagNameLen)
		}
		if len(value) > maxTagValueLen {
			return Errorf(http.StatusBadRequest, "InvalidTagValueLength",
				"The tag value '%s' of tag '%s' exceeds the maximum length of %d characters.", value, name, maxTagValueLen)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return Errorf(http.StatusBadRequest, "InvalidTagNameCharacters",
			"The tag names '%s' have reserved characters '<,>,%%,&,\\,?,/' or control characters.", strings.Join(bad, ","))
	}
	return nil
}

// Stamp sets a resource's systemData for a write by the caller: created*
// on create (the store keeps them on update), lastModified* always.
func Stamp(r *store.Resource, c Caller, now time.Time) {
	by, byType := c.AppID, "Application"
	if by == "" {
		by, byType = c.ObjectID, "User"
	}
	r.SystemData.LastModifiedBy, r.SystemData.LastModifiedByType, r.SystemData.LastModifiedAt = by, byType, now.UTC()
	if r.SystemData.CreatedAt.IsZero() {
		r.SystemData.CreatedBy, r.SystemData.CreatedByType, r.SystemData.CreatedAt = by, byType, now.UTC()
	}
}
