package envoysim

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// checkResult mirrors Filters::Common::MutationRules::CheckResult.
type checkResult int

const (
	checkOK     checkResult = iota
	checkIgnore             // silently skipped (counted as rejected by Envoy)
	checkFail               // the whole reply is an error → local reply
)

type checkOp int

const (
	opSet checkOp = iota
	opAppend
	opRemove
)

// checker mirrors Envoy's mutation_rules Checker
// (source/extensions/filters/common/mutation_rules/mutation_rules.cc) for the
// filter's mutation_rules; with none configured it is the default rule set:
// host, :authority, :method, :scheme and x-envoy-* may not be changed, no
// ":" header or host may be removed, and a rejected change is ignored.
type checker struct {
	rules              *mutationrulesv3.HeaderMutationRules
	allowExpr, denyExp *regexp.Regexp
}

func newChecker(rules *mutationrulesv3.HeaderMutationRules) (*checker, error) {
	c := &checker{rules: rules}
	if rules == nil {
		c.rules = &mutationrulesv3.HeaderMutationRules{}
		return c, nil
	}
	var err error
	// Envoy uses RE2; Go's regexp has the same syntax and semantics.
	if r := rules.GetAllowExpression().GetRegex(); r != "" {
		if c.allowExpr, err = regexp.Compile("^(?:" + r + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.allow_expression: %w", err)
		}
	}
	if r := rules.GetDisallowExpression().GetRegex(); r != "" {
		if c.denyExp, err = regexp.Compile("^(?:" + r + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.disallow_expression: %w", err)
		}
	}
	return c, nil
}

// routingHeaders are Envoy's "extra routing headers" guarded by allow_all_routing.
var routingHeaders = map[string]bool{"host": true, ":authority": true, ":method": true, ":scheme": true}

func boolOf(v *wrapperspb.BoolValue) bool { return v.GetValue() }

func (c *checker) check(op checkOp, name, value string) checkResult {
	if c.allowed(op, name) && (op == opRemove || validValue(name, value)) {
		return checkOK
	}
	if boolOf(c.rules.GetDisallowIsError()) {
		return checkFail
	}
	return checkIgnore
}

func (c *checker) allowed(op checkOp, name string) bool {
	if op == opRemove && (name == "host" || strings.HasPrefix(name, ":")) {
		return false // HeaderUtility::isModifiableHeader
	}
	if c.denyExp != nil && c.denyExp.MatchString(name) {
		return false
	}
	if c.allowExpr != nil && c.allowExpr.MatchString(name) {
		return true
	}
	if boolOf(c.rules.GetDisallowAll()) {
		return false
	}
	if !boolOf(c.rules.GetAllowAllRouting()) && routingHeaders[name] {
		return false
	}
	if strings.HasPrefix(name, ":") && (op == opAppend || boolOf(c.rules.GetDisallowSystem())) {
		return false
	}
	if !boolOf(c.rules.GetAllowEnvoy()) && strings.HasPrefix(name, "x-envoy") {
		return false
	}
	return true
}

// validValue mirrors Checker::isValidValue: sensitive headers must keep
// values Envoy can act on.
func validValue(name, value string) bool {
	if !strings.HasPrefix(name, ":") && !headerValueValid(value) {
		return false
	}
	if name == ":status" {
		n, err := strconv.Atoi(value)
		return err == nil && n >= 200
	}
	if name == ":scheme" {
		return value == "http" || value == "https"
	}
	return true
}

// headerNameValid mirrors HeaderUtility::headerNameIsValid: an HTTP token,
// or ":" followed by a lower-case token for pseudo-headers.
func headerNameValid(name string) bool {
	if strings.HasPrefix(name, ":") {
		rest := name[1:]
		return rest != "" && isToken(rest) && strings.ToLower(rest) == rest
	}
	return name != "" && isToken(name)
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// headerValueValid mirrors HeaderUtility::headerValueIsValid: no NUL, CR or LF.
func headerValueValid(v string) bool { return !strings.ContainsAny(v, "\x00\r\n") }

// errMutation is a reply Envoy rejects as a whole (it answers the client
// with status_on_error, 500 by default).
var errMutation = errors.New("invalid header mutation")

// applyHeaderMutation mirrors MutationUtils::applyHeaderMutations: removals
// first, then sets; only raw_value is read (the default runtime
// envoy.reloadable_features.send_header_raw_value), so a value-only header is
// set empty and both set is an error; append_action is not consulted, the
// deprecated append flag decides (unset = overwrite). skipContentLength drops
// sets of content-length, as Envoy does in body modes where it cannot keep
// the length right (shouldRemoveContentLength). replacing allows :method,
// as Envoy does for CONTINUE_AND_REPLACE.
func applyHeaderMutation(mut *extprocv3.HeaderMutation, h *headerMap, c *checker, replacing, skipContentLength bool) error {
	for _, name := range mut.GetRemoveHeaders() {
		if !headerNameValid(name) {
			return fmt.Errorf("%w: remove_headers name %q", errMutation, name)
		}
		lname := strings.ToLower(name)
		switch c.check(opRemove, lname, "") {
		case checkOK:
			h.remove(lname)
		case checkFail:
			return fmt.Errorf("%w: invalid attempt to remove %s", errMutation, lname)
		}
	}
	for _, sh := range mut.GetSetHeaders() {
		if sh.GetHeader() == nil {
			continue
		}
		key := sh.GetHeader().GetKey()
		if skipContentLength && strings.EqualFold(key, "content-length") {
			continue
		}
		if sh.GetHeader().GetValue() != "" && len(sh.GetHeader().GetRawValue()) > 0 {
			return fmt.Errorf("%w: only one of value or raw_value may be set (%s)", errMutation, key)
		}
		value := string(sh.GetHeader().GetRawValue())
		if !headerNameValid(key) || !headerValueValid(value) {
			return fmt.Errorf("%w: invalid character in set_headers (%q)", errMutation, key)
		}
		lname := strings.ToLower(key)
		appendMode := sh.GetAppend().GetValue()
		op := opSet
		if _, exists := h.get(lname); appendMode && exists {
			op = opAppend
		}
		res := c.check(op, lname, value)
		if replacing && lname == ":method" {
			res = checkOK
		}
		switch res {
		case checkOK:
			if appendMode {
				h.add(lname, value)
			} else {
				h.set(lname, value)
			}
		case checkFail:
			return fmt.Errorf("%w: invalid attempt to modify %s", errMutation, lname)
		}
	}
	return nil
}
