package main

import (
	"fmt"
	"os"

	"github.com/semproc/semproc/semantic"
)

// loadPrices reads SEMPROC_PRICES_FILE; nil without one. Its problems stop
// start-up, each naming the file.
func loadPrices(cfg Config) (semantic.Prices, error) {
	if cfg.PricesFile == "" {
		return nil, nil
	}
	doc, err := os.ReadFile(cfg.PricesFile)
	if err != nil {
		return nil, &configError{fmt.Errorf("SEMPROC_PRICES_FILE: %w", err)}
	}
	p, err := semantic.ParsePrices(doc)
	if err != nil {
		return nil, &configError{fmt.Errorf("SEMPROC_PRICES_FILE %s: %w", cfg.PricesFile, err)}
	}
	return p, nil
}
