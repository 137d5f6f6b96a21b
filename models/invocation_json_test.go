package models_test

import (
	"encoding/json"
	"testing"

	"github.com/picloud/picloud/models"
)

// TestInvocationJSONRoundTrip: an invocation the API answers decodes back
// to the same invocation, its fetches included (the live log's clients
// read it so).
func TestInvocationJSONRoundTrip(t *testing.T) {
	for _, fs := range [][]models.InvocationFetch{
		nil,
		{{Method: "GET", URL: "https://example.com/a", Status: 200, DurationMS: 3}, {Method: "POST", URL: "https://x.test/", Error: "refused"}},
	} {
		in := models.Invocation{RequestID: "r", Status: 200, Trigger: "http", Fetches: models.NewFetches(fs)}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out models.Invocation
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if out.Fetches != in.Fetches || out.RequestID != "r" {
			t.Errorf("%s decoded to fetches %q, want %q", b, out.Fetches, in.Fetches)
		}
	}
}
