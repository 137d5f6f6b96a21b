package admin

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// TestOpenAPIIsValid: the served description is a valid OpenAPI 3.1
// document, by a kept validator of the specification's own schema.
func TestOpenAPIIsValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("OpenAPI version %q, want 3.1", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("build the model: %v", err)
	}
	if ok, errs := schema_validation.ValidateOpenAPIDocument(doc); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s (line %d)", se.Reason, se.FieldPath, se.Line)
			}
		}
	}
}

// TestOpenAPIMatchesRouter: every route the admin router serves is in
// the document, and every operation in the document is served.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &spec); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range spec.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var served []string
	for method, paths := range New(Options{}).router.List() {
		for _, p := range paths {
			// A catch-all {key:*} is a plain {key} in OpenAPI's templates.
			p = strings.ReplaceAll(p, ":*}", "}")
			served = append(served, method+" "+strings.TrimPrefix(p, Prefix))
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("served but not in openapi.json: %s", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("in openapi.json but not served: %s", op)
		}
	}
	if len(served) < 40 {
		t.Fatalf("the router lists only %d routes: %v", len(served), served)
	}
}
