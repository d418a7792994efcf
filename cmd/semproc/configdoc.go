package main

import (
	"fmt"
	"reflect"
	"strings"
)

// configField is one environment variable as the Config struct declares it.
type configField struct {
	Name, Default, Doc string
}

func configFields() []configField {
	t := reflect.TypeFor[Config]()
	out := make([]configField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, configField{Name: f.Tag.Get("env"), Default: f.Tag.Get("envDefault"), Doc: f.Tag.Get("doc")})
	}
	return out
}

func envNames() []string {
	var names []string
	for _, f := range configFields() {
		names = append(names, f.Name)
	}
	return names
}

// configTable renders the README's configuration table.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, f := range configFields() {
		def := ""
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, def, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	return b.String()
}
