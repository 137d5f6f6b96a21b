package server

import (
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/ingress"
)

// TestInvocationRowCarriesEveryField fails when a field is added to
// either record type and the adapter forgets it.
func TestInvocationRowCarriesEveryField(t *testing.T) {
	var inv ingress.Invocation
	v := reflect.ValueOf(&inv).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Int, reflect.Int64:
			if f.Type() == reflect.TypeFor[time.Duration]() {
				f.SetInt(int64(1500 * time.Microsecond))
			} else {
				f.SetInt(int64(i + 1))
			}
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]actors.FetchRecord{{Method: "GET", URL: "https://example.com/", Status: 200}}))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	row := invocationRow(inv, "self")
	r := reflect.ValueOf(row)
	for i := range r.NumField() {
		name := r.Type().Field(i).Name
		if name == "BaseModel" || name == "ID" { // set by the database
			continue
		}
		if r.Field(i).IsZero() {
			t.Errorf("models.Invocation.%s is not set from the ingress record", name)
		}
	}
	if row.DurationUS != 1500 || row.Status != inv.Status || row.Path != "Path" || !row.CreatedAt.Equal(inv.At) || row.Node != "Node" {
		t.Errorf("row = %+v, from %+v", row, inv)
	}
	// A record that names no node was run here.
	inv.Node = ""
	if row := invocationRow(inv, "pi1-7946"); row.Node != "pi1-7946" {
		t.Errorf("node of a record naming none = %q, want this server's", row.Node)
	}
}

func TestScriptStatesKeepOnlyLiveVersions(t *testing.T) {
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st := actors.RouterStatus{AppID: 1, Pools: []actors.PoolStatus{
		{ScriptID: 1, Version: 2, Live: true, Crashes: 6, ParkedUntil: until, ParkReason: "crashed 6 times"},
		{ScriptID: 1, Version: 1, Live: false, Crashes: 9}, // draining: its crashes are not the live version's
		{ScriptID: 2, Version: 1, Live: true, Executors: 3},
	}}
	want := []admin.ScriptState{
		{ScriptID: 1, Crashes: 6, ParkedUntil: until, ParkReason: "crashed 6 times"},
		{ScriptID: 2},
	}
	if got := scriptStates(st); !reflect.DeepEqual(got, want) {
		t.Errorf("scriptStates = %+v, want %+v", got, want)
	}
}
