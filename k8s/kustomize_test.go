package k8s

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeBuild runs kustomize itself on every variant: it must build,
// and produce the objects loadKustomization checks, with the same semproc
// environment (so the checks' reading of patches is kustomize's) and the
// semproc image at its pinned tag.
func TestKustomizeBuild(t *testing.T) {
	for _, v := range variants {
		t.Run(v.dir, func(t *testing.T) {
			b, err := loadKustomization(os.DirFS("."), v.dir)
			if err != nil {
				t.Fatal(err)
			}
			resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), v.dir)
			if err != nil {
				t.Fatalf("kustomize build %s: %v", v.dir, err)
			}
			var built []string
			for _, r := range resources.Resources() {
				built = append(built, r.GetKind()+"/"+r.GetName())
				if r.GetKind() == "ConfigMap" && r.GetName() == "semproc" {
					data := r.GetDataMap()
					if fmt.Sprint(data) != fmt.Sprint(b.configMaps["semproc"].Data) {
						t.Errorf("kustomize's semproc ConfigMap %v, the checks read %v", data, b.configMaps["semproc"].Data)
					}
				}
				if r.GetKind() == "Deployment" {
					checkBuiltImages(t, r.MustYaml(), b.images)
				}
			}
			if want := b.objectNames(); !slices.Equal(sorted(built), sorted(want)) {
				t.Errorf("kustomize built %v, the checks read %v", sorted(built), sorted(want))
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkBuiltImages wants every image kustomize set to carry the tag of the
// kustomization's images entry.
func checkBuiltImages(t *testing.T, deployment string, tags map[string]string) {
	t.Helper()
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(deployment), &d); err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for name, tag := range tags {
			if strings.HasPrefix(c.Image, name+":") && c.Image != name+":"+tag {
				t.Errorf("%s/%s: kustomize built image %s, want tag %s", d.Name, c.Name, c.Image, tag)
			}
		}
	}
}
