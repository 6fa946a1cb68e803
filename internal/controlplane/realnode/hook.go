package realnode

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"

	"github.com/localaks/localaks/internal/nodeapps"
)

// The system images' program is this binary, which no image holds: their
// layer has an empty file at nodeapps.Binary, and each container of the
// node starts with a createContainer hook (runc runs it in the
// container's mount namespace, before the root is entered) that binds
// the node's binary, read-only, over that file. A container whose image
// has no such empty file (any user's image) is left as it is. So each node
// imports kilobytes, not the binary, and every container runs the one
// file the host's page cache already holds.

// hookScript is the hook, run by sh with the host binary as $1 and the
// container's state (JSON, from runc) on stdin.
const hookScript = `bundle=$(sed -n 's/.*"bundle":"\([^"]*\)".*/\1/p')
f="$bundle/rootfs` + nodeapps.Binary + `"
if [ -f "$f" ] && [ ! -s "$f" ]; then
  exec "$MOUNT" --bind -o ro "$1" "$f"
fi`

// writeBaseSpec writes the spec every container of the node starts from:
// containerd's default (ctr oci spec), with the hook; self is the binary
// to bind.
func writeBaseSpec(c *Config, self string) error {
	out, err := exec.Command(ctrPath(c), "oci", "spec").Output()
	if err != nil {
		return fmt.Errorf("containerd's default spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(out, &spec); err != nil {
		return fmt.Errorf("containerd's default spec: %w", err)
	}
	spec["hooks"] = map[string]any{"createContainer": []any{map[string]any{
		"path": c.Sh,
		"args": []string{"sh", "-c", hookScript, "localaks-system-image", self},
		"env":  []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "MOUNT=" + c.Mount},
	}}}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.baseSpec(), b, 0o644)
}
