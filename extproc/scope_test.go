package extproc

import "testing"

func TestScope(t *testing.T) {
	names := []string{"authorization", "x-api-key"}
	tenantA := Scope(map[string]string{"authorization": "Bearer a"}, names)
	tests := []struct {
		name    string
		headers map[string]string
		want    string // "" (anonymous), "a" (tenantA) or "other"
	}{
		{"no credential", map[string]string{"content-type": "application/json"}, ""},
		{"empty credential", map[string]string{"authorization": ""}, ""},
		{"blank credential", map[string]string{"authorization": "  \t"}, ""},
		{"empty beside none", map[string]string{"authorization": "", "x-api-key": " "}, ""},
		{"a credential", map[string]string{"authorization": "Bearer a"}, "a"},
		{"an empty second header changes nothing", map[string]string{"authorization": "Bearer a", "x-api-key": ""}, "a"},
		{"another credential", map[string]string{"authorization": "Bearer b"}, "other"},
		{"the same value in another header", map[string]string{"x-api-key": "Bearer a"}, "other"},
		{"a second credential", map[string]string{"authorization": "Bearer a", "x-api-key": "k"}, "other"},
		{"an unlisted header", map[string]string{"cookie": "Bearer a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Scope(tt.headers, names)
			switch tt.want {
			case "":
				if got != "" {
					t.Errorf("Scope = %q, want none (anonymous)", got)
				}
			case "a":
				if got != tenantA {
					t.Errorf("Scope = %q, want tenant a's %q", got, tenantA)
				}
			default:
				if got == "" || got == tenantA {
					t.Errorf("Scope = %q, want a scope of its own", got)
				}
			}
		})
	}
}
