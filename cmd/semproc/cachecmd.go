package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cacheCmd calls the cache administration endpoints of a running semproc
// (SPEC §9) at SEMPROC_ADMIN_ADDR, with the token of SEMPROC_ADMIN_TOKEN
// or SEMPROC_ADMIN_TOKEN_FILE.
func cacheCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || wantsHelp(args[:1]) {
		if len(args) == 0 {
			return &usageError{errors.New("cache wants delete, purge or stats"), cacheUsage}
		}
		fmt.Fprintln(stdout, cacheUsage)
		return nil
	}
	fs := flag.NewFlagSet("cache "+args[0], flag.ContinueOnError)
	addr := fs.String("addr", "", "the admin listener, host:port (default: SEMPROC_ADMIN_ADDR)")
	model := fs.String("model", "", "purge: every entry of this effective model")
	modelHash := fs.String("model-hash", "", "purge: every entry of the model with this hash (as stats shows it)")
	all := fs.Bool("all", false, "purge: every entry of the namespace")
	if help, err := parseFlags(fs, cacheUsage, args[1:], stdout); help || err != nil {
		return err
	}
	var method, path string
	switch {
	case args[0] == "delete" && fs.NArg() == 1:
		method, path = http.MethodDelete, "/cache/"+url.PathEscape(fs.Arg(0))
	case args[0] == "purge" && fs.NArg() == 0:
		q := url.Values{}
		switch {
		case *model != "" && *modelHash == "" && !*all:
			q.Set("model", *model)
		case *modelHash != "" && *model == "" && !*all:
			q.Set("model_hash", *modelHash)
		case *all && *model == "" && *modelHash == "":
			q.Set("all", "true")
		default:
			return &usageError{errors.New("semproc cache purge: want exactly one of -model NAME, -model-hash HEX or -all"), flagUsage(fs, cacheUsage)}
		}
		method, path = http.MethodDelete, "/cache?"+q.Encode()
	case args[0] == "stats" && fs.NArg() == 0:
		method, path = http.MethodGet, "/cache/stats"
	default:
		return &usageError{fmt.Errorf("semproc cache %s: wrong arguments %q", args[0], fs.Args()), flagUsage(fs, cacheUsage)}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	token, err := readSecret(cfg.AdminToken, cfg.AdminTokenFile, "SEMPROC_ADMIN_TOKEN_FILE")
	if err != nil {
		return err
	}
	if token == "" {
		return &configError{errors.New("semproc cache: set SEMPROC_ADMIN_TOKEN or SEMPROC_ADMIN_TOKEN_FILE to the server's admin token")}
	}
	if *addr == "" {
		*addr = cfg.AdminAddr
	}
	code, body, err := adminRequest(ctx, *addr, method, path, token)
	if err != nil {
		return err
	}
	switch {
	case args[0] == "delete" && code == http.StatusNoContent:
		fmt.Fprintln(stdout, "deleted", fs.Arg(0))
	case args[0] == "delete" && code == http.StatusNotFound && bytes.Contains(body, []byte(noSuchEntry)):
		return fmt.Errorf("no entry %s", fs.Arg(0))
	case code == http.StatusOK && args[0] == "stats":
		var out bytes.Buffer
		if err := json.Indent(&out, body, "", "  "); err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		fmt.Fprintln(stdout, out.String())
	case code == http.StatusOK:
		var r struct{ Deleted int }
		if err := json.Unmarshal(body, &r); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		fmt.Fprintf(stdout, "deleted %d entries\n", r.Deleted)
	case code == http.StatusNotFound:
		return errors.New("the server has no cache administration: set SEMPROC_ADMIN_TOKEN on it (and keep its cache enabled)")
	default:
		return fmt.Errorf("%s %s: %d %s", method, path, code, strings.TrimSpace(string(body)))
	}
	return nil
}

const cacheUsage = `usage:
  semproc cache delete [-addr HOST:PORT] KEY                    remove the entry with this X-Cache-Key
  semproc cache purge [-addr HOST:PORT] -model NAME | -model-hash HEX | -all
  semproc cache stats [-addr HOST:PORT]                         entries and bytes by model`

// adminRequest calls the admin listener at addr (":9090" means this host).
func adminRequest(ctx context.Context, addr, method, path, token string) (int, []byte, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, nil, &configError{fmt.Errorf("admin address %q: %w", addr, err)}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
