package main

import "reflect"

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
