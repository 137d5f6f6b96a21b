package actors_test

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/actors/actorspb"
)

// filled sets every field of the struct v points to, recursively, to a
// value that is not zero, with strings that are not UTF-8 (but for the
// values PiCloud makes itself, see ownText): a field the conversions
// forget, or one proto.Marshal refuses, then shows.
func filled[T any](t *testing.T) *T {
	t.Helper()
	v := new(T)
	fill(t, reflect.ValueOf(v).Elem(), "x")
	return v
}

// ownText are the fields whose text PiCloud makes (UTF-8, strings in
// actors.proto); any other text may be any bytes.
var ownText = map[string]bool{"RequestID": true, "ErrCode": true}

func fill(t *testing.T, v reflect.Value, name string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if ownText[name] {
			v.SetString(name)
		} else {
			v.SetString(name + "\xff")
		}
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			v.SetInt(int64(1500 * time.Microsecond))
		} else {
			v.SetInt(int64(len(name)) + 200)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(name + "\x00\xfe"))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(t, v.Index(0), name+"0")
		fill(t, v.Index(1), name+"1")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for _, k := range []string{"a", "b\xff"} {
			val := reflect.New(v.Type().Elem()).Elem()
			fill(t, val, name+k)
			v.SetMapIndex(reflect.ValueOf(k), val)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), v.Type().Field(i).Name)
		}
	default:
		t.Fatalf("%s: kind %s not covered by this test", name, v.Kind())
	}
}

// crossed is m marshalled and unmarshalled as protoactor's remote does.
func crossed[M proto.Message](t *testing.T, m M, into M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	if err := proto.Unmarshal(b, into); err != nil {
		t.Fatalf("unmarshal %T: %v", m, err)
	}
	return into
}

func TestRequestCrossesANode(t *testing.T) {
	req := filled[actors.Request](t)
	got := actors.RequestFromProto(crossed(t, actors.RequestToProto(req), &actorspb.Request{}))
	if !reflect.DeepEqual(got, req) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, req)
	}
	if empty := actors.RequestFromProto(crossed(t, actors.RequestToProto(&actors.Request{}), &actorspb.Request{})); !reflect.DeepEqual(empty, &actors.Request{}) {
		t.Errorf("empty request came back as %+v", empty)
	}
}

func TestResultCrossesANode(t *testing.T) {
	res := filled[actors.Result](t)
	got := actors.ResultFromProto(crossed(t, actors.ResultToProto(res), &actorspb.Result{}))
	if !reflect.DeepEqual(&got, res) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, *res)
	}
}
