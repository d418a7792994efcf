package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A WordNet directory pulled before the exception lists were pinned is
// missing, by name, so that semproc starts without WordNet and says to pull
// it again (which fetches it whole: TestPullPackagesIntoOneDir).
func TestVerifyWordNetStaleDir(t *testing.T) {
	pulled, err := DefaultWordNetDir()
	if err != nil {
		t.Fatal(err)
	}
	licence := filepath.Join(pulled, "LICENSE")
	if _, err := os.Stat(licence); err != nil {
		t.Skipf("WordNet's LICENSE is not there (%v): run `make model` to fetch it", err)
	}
	dir := t.TempDir()
	// The pinned files are checked in order, the licence first.
	if err := os.Symlink(licence, filepath.Join(dir, "LICENSE")); err != nil {
		t.Fatal(err)
	}
	err = VerifyWordNet(dir)
	if !errors.Is(err, ErrWordNetMissing) || !strings.Contains(err.Error(), "no adj.exc in "+dir) {
		t.Errorf("VerifyWordNet(a directory without the exception lists) = %v, want ErrWordNetMissing naming adj.exc", err)
	}
}
