package sandbox

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsSDKv2ExamplesCompile: every script docs/scripts.md shows for
// SDK v2 passes the upload check, so a reader can run it as it is.
func TestDocsSDKv2ExamplesCompile(t *testing.T) {
	b, _ := os.ReadFile("../docs/scripts.md")
	s := string(b)
	i := strings.Index(s, "## SDK v2")
	j := strings.Index(s, "## Packages you can import")
	if i < 0 || j < i {
		t.Fatal("docs/scripts.md has no SDK v2 section")
	}
	re := regexp.MustCompile("(?s)```go\n(.*?)```")
	examples := re.FindAllStringSubmatch(s[i:j], -1)
	if len(examples) < 5 {
		t.Fatalf("%d examples in the SDK v2 section, want one per capability", len(examples))
	}
	for _, m := range examples {
		if err := Check(context.Background(), m[1]); err != nil {
			t.Errorf("%v\n%s", err, m[1])
		}
	}
}
