package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/localaks/localaks/internal/acrprovider"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/fsutil"
	"github.com/localaks/localaks/internal/ingressnginx"
	"github.com/localaks/localaks/internal/nodehost"
	"github.com/localaks/localaks/internal/resourceid"
)

// newImage is `localaks image load`: images onto a cluster's real nodes
// with no registry, as `kind load image-archive` does. The archive is kept
// in the cluster's directory, so nodes that start later (scale-out,
// restarts) import it too.
func newImage(g *globals, stdout io.Writer) *cobra.Command {
	img := &cobra.Command{Use: "image", Short: "Put container images on a cluster's real nodes"}
	var group, name, subscription string
	load := &cobra.Command{
		Use:   "load -g RG -n CLUSTER FILE.tar...",
		Short: "Load image archives (docker save or OCI layout tarballs) onto a cluster's real nodes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			d, err := g.dir()
			if err != nil {
				return err
			}
			l, err := findCluster(d, subscription, group, name)
			if err != nil {
				return err
			}
			tools, missing := nodehost.Find()
			if tools.Containerd == "" {
				return fmt.Errorf("this host cannot run real nodes: it lacks %s", strings.Join(missing, "; "))
			}
			ctr := filepath.Join(filepath.Dir(tools.Containerd), "ctr")
			for _, f := range files {
				kept, err := keepArchive(l, f)
				if err != nil {
					return err
				}
				n, err := importOnNodes(cmd, l, ctr, kept)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Image archive %s loaded onto %d running real node(s) of %s; nodes that start later import it too.\n", f, n, name)
			}
			return nil
		},
	}
	load.Flags().StringVarP(&group, "resource-group", "g", "", "the cluster's resource group")
	load.Flags().StringVarP(&name, "name", "n", "", "the cluster's name")
	load.Flags().StringVar(&subscription, "subscription", "", "the cluster's subscription ID (when names repeat across subscriptions)")
	load.MarkFlagRequired("resource-group") //nolint:errcheck // the flag exists
	load.MarkFlagRequired("name")           //nolint:errcheck // the flag exists
	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Build ahead what real nodes need from other Go modules: the kubelet's ACR credential provider and app routing's managed NGINX",
		Long: "The kubelet's ACR credential provider (cloud-provider-azure's) is built with the go command from its Go module " +
			"the first time a cluster gets real nodes, and the managed NGINX's controller (ingress-nginx) the first time such a " +
			"cluster turns application routing on (minutes each on a new machine); both are kept in the user's cache directory. " +
			"prepare builds them now and checks that Debian's nginx packages are there.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pcache, err := acrprovider.CacheDir()
			if err != nil {
				return err
			}
			provider, err := acrprovider.Ensure(cmd.Context(), pcache)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "acr-credential-provider (cloud-provider-azure %s) built: %s\n", acrprovider.Release, provider)
			if missing := ingressnginx.MissingPackages(); len(missing) > 0 {
				return fmt.Errorf("the managed NGINX needs Debian's %s (apt-get install %s)", strings.Join(missing, ", "), strings.Join(ingressnginx.Packages(), " "))
			}
			cache, err := ingressnginx.CacheDir()
			if err != nil {
				return err
			}
			b, err := ingressnginx.Ensure(cmd.Context(), cache)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ingress-nginx %s built in %s\n", ingressnginx.Release, b.Dir)
			return nil
		},
	}
	img.AddCommand(load, prepare)
	return img
}

// findCluster finds a cluster's directory by its resource group and name.
func findCluster(d datadir.Dir, subscription, group, name string) (clusterspec.Layout, error) {
	ids, _ := filepath.Glob(filepath.Join(d.Clusters(), "*", "cluster.json"))
	var found []clusterspec.Layout
	for _, p := range ids {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var id clusterspec.Identity
		if json.Unmarshal(raw, &id) != nil {
			continue
		}
		rid, err := resourceid.Parse(id.ResourceID)
		if err != nil {
			continue
		}
		if strings.EqualFold(rid.ResourceGroupName(), group) && strings.EqualFold(rid.Name(), name) &&
			(subscription == "" || strings.EqualFold(rid.SubscriptionID(), subscription)) {
			found = append(found, clusterspec.Layout(filepath.Dir(p)))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no managed cluster %s in resource group %s has a running control plane in %s", name, group, d.Path)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d managed clusters are named %s in resource groups %s: say which with --subscription", len(found), name, group)
}

// keepArchive copies an archive into the cluster's images (named by its
// content) and returns the copy.
func keepArchive(l clusterspec.Layout, file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	if err := os.MkdirAll(l.Images(), 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(l.Images(), hex.EncodeToString(sum[:16])+".tar")
	if err := fsutil.WriteFileAtomic(dst, raw, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}

// importOnNodes imports an archive into every running real node's
// containerd and returns how many took it.
func importOnNodes(cmd *cobra.Command, l clusterspec.Layout, ctr, archive string) (int, error) {
	pids, _ := filepath.Glob(filepath.Join(l.Nodes(), "*", "pid"))
	n := 0
	var errs []error
	for _, p := range pids {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			continue
		}
		sock := nodehost.ContainerdSocket(pid)
		if _, err := os.Stat(sock); err != nil {
			continue // the node is restarting: it imports the archive when up
		}
		if err := nodehost.ImportImage(cmd.Context(), ctr, sock, archive); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", filepath.Base(filepath.Dir(p)), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
