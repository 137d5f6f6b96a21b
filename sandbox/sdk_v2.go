package sandbox

import (
	"reflect"

	"github.com/picloud/picloud/sandbox/sdk"
)

// sdkV2Symbols are the symbols of SDK v2, bound to call: the Call of the
// interpreter, which the instance points at the Host of the call running
// (nil, as in Check, binds them to nothing: they answer sdk.ErrNoHost).
//
// picloud.KV is a variable of the interpreter, a copy of its own: a
// script assigning to it changes only what it sees itself.
func sdkV2Symbols(call *sdk.Call) map[string]reflect.Value {
	if call == nil {
		call = sdk.NewCall(nil)
	}
	kv := call.KV()
	return map[string]reflect.Value{
		"KVNamespace":   reflect.ValueOf((*sdk.KVNamespace)(nil)),
		"FetchRequest":  reflect.ValueOf((*sdk.FetchRequest)(nil)),
		"FetchResponse": reflect.ValueOf((*sdk.FetchResponse)(nil)),
		"KV":            reflect.ValueOf(&kv).Elem(),
		"Secret":        reflect.ValueOf(call.Secret),
		"Fetch":         reflect.ValueOf(call.Fetch),
		"Invoke":        reflect.ValueOf(call.Invoke),
	}
}
