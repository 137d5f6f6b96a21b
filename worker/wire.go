package worker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/picloud/picloud/sandbox/sdk"
)

// MaxFrame bounds the size of one frame: the largest request body the
// server accepts (1 GiB) plus room for the rest of the request.
const MaxFrame = 1<<30 + 1<<20

// Frame is one message of the protocol (worker.proto). Exactly one of
// the body fields is set.
type Frame struct {
	ID     uint64
	Load   *Load
	Call   *Call
	Unload *Unload
	Loaded *Loaded
	Result *Result
}

// Load compiles a script version into instance Instance.
type Load struct {
	Instance  uint64
	Source    string
	MaxOutput int64
	// MaxResponseBody caps a call's response (sandbox.Options).
	MaxResponseBody int64
	App             string
	ScriptID        int64
	Version         int64
}

// Call runs an instance's Handle on Request.
type Call struct {
	Instance uint64
	Request  *sdk.Request
}

// Unload drops an instance.
type Unload struct {
	Instance uint64
}

// Loaded answers a Load; Err is nil when the instance is ready.
// Goroutine is the worker goroutine that runs the instance's calls: a
// crash report names the goroutine that crashed, which tells the host
// which script killed its worker.
type Loaded struct {
	Err       *Error
	Goroutine uint64
}

// Result answers a Call.
type Result struct {
	Response sdk.Response
	Output   string
	Duration time.Duration
	Err      *Error
}

// ErrorKind says what an Error stands for.
type ErrorKind int32

// Kinds of Error.
const (
	KindInternal ErrorKind = 3
	KindCompile  ErrorKind = 1
	KindPanic    ErrorKind = 2
	// KindResponseTooLarge is sandbox.ErrResponseTooLarge: the script
	// ran, but its response was over the limit.
	KindResponseTooLarge ErrorKind = 4
)

// Error is a sandbox error as plain data.
type Error struct {
	Kind    ErrorKind
	Message string
	Line    int
	Column  int
	Func    string
}

// Field numbers of worker.proto.
const (
	frameID, frameLoad, frameCall, frameUnload, frameLoaded, frameResult = 1, 2, 3, 4, 5, 6

	loadInstance, loadSource, loadMaxOutput, loadApp, loadScriptID, loadVersion, loadMaxResponseBody = 1, 2, 3, 4, 5, 6, 7

	callInstance, callRequest = 1, 2

	resStatus, resHeaders, resBody, resOutput, resDuration, resError = 1, 2, 3, 4, 5, 6

	errKind, errMessage, errLine, errColumn, errFunc = 1, 2, 3, 4, 5

	reqMethod, reqPath, reqHost, reqParams, reqDomainParams, reqQuery, reqHeaders, reqBody, reqRequestID, reqApp = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10

	entryKey, entryValue = 1, 2
)

// AppendFrame appends f to b as a length-prefixed frame.
func AppendFrame(b []byte, f *Frame) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	if f.ID != 0 {
		b = appendVarint(b, frameID, f.ID)
	}
	switch {
	case f.Load != nil:
		b = appendNested(b, frameLoad, func(b []byte) []byte { return f.Load.append(b) })
	case f.Call != nil:
		b = appendNested(b, frameCall, func(b []byte) []byte { return f.Call.append(b) })
	case f.Unload != nil:
		b = appendNested(b, frameUnload, func(b []byte) []byte { return appendVarint(b, 1, f.Unload.Instance) })
	case f.Loaded != nil:
		b = appendNested(b, frameLoaded, func(b []byte) []byte {
			return appendVarint(f.Loaded.Err.appendAs(b, 1), 2, f.Loaded.Goroutine)
		})
	case f.Result != nil:
		b = appendNested(b, frameResult, func(b []byte) []byte { return f.Result.append(b) })
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func (l *Load) append(b []byte) []byte {
	b = appendVarint(b, loadInstance, l.Instance)
	b = appendString(b, loadSource, l.Source)
	b = appendVarint(b, loadMaxOutput, uint64(l.MaxOutput))
	b = appendString(b, loadApp, l.App)
	b = appendVarint(b, loadScriptID, uint64(l.ScriptID))
	b = appendVarint(b, loadVersion, uint64(l.Version))
	return appendVarint(b, loadMaxResponseBody, uint64(l.MaxResponseBody))
}

func (c *Call) append(b []byte) []byte {
	b = appendVarint(b, callInstance, c.Instance)
	r := c.Request
	if r == nil {
		return b
	}
	return appendNested(b, callRequest, func(b []byte) []byte {
		b = appendString(b, reqMethod, r.Method)
		b = appendString(b, reqPath, r.Path)
		b = appendString(b, reqHost, r.Host)
		b = appendEntries(b, reqParams, r.Params)
		b = appendEntries(b, reqDomainParams, r.DomainParams)
		for k, vs := range r.Query {
			b = appendNested(b, reqQuery, func(b []byte) []byte {
				b = appendString(b, entryKey, k)
				for _, v := range vs {
					b = protowire.AppendTag(b, entryValue, protowire.BytesType)
					b = protowire.AppendString(b, v)
				}
				return b
			})
		}
		b = appendEntries(b, reqHeaders, r.Headers)
		b = appendBytes(b, reqBody, r.Body)
		b = appendString(b, reqRequestID, r.RequestID)
		return appendString(b, reqApp, r.App)
	})
}

func (r *Result) append(b []byte) []byte {
	b = appendVarint(b, resStatus, uint64(int64(r.Response.Status)))
	b = appendEntries(b, resHeaders, r.Response.Headers)
	b = appendBytes(b, resBody, r.Response.Body)
	b = appendString(b, resOutput, r.Output)
	b = appendVarint(b, resDuration, uint64(r.Duration))
	return r.Err.appendAs(b, resError)
}

// appendAs appends e as field num; a nil e appends nothing.
func (e *Error) appendAs(b []byte, num protowire.Number) []byte {
	if e == nil {
		return b
	}
	return appendNested(b, num, func(b []byte) []byte {
		b = appendVarint(b, errKind, uint64(e.Kind))
		b = appendString(b, errMessage, e.Message)
		b = appendVarint(b, errLine, uint64(int64(e.Line)))
		b = appendVarint(b, errColumn, uint64(int64(e.Column)))
		return appendString(b, errFunc, e.Func)
	})
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendEntries(b []byte, num protowire.Number, m map[string]string) []byte {
	for k, v := range m {
		b = appendNested(b, num, func(b []byte) []byte {
			b = appendString(b, entryKey, k)
			return appendString(b, entryValue, v)
		})
	}
	return b
}

// appendNested appends the message enc writes as field num. The message
// is written in place and then shifted right by the size of its length,
// so no scratch buffer is needed.
func appendNested(b []byte, num protowire.Number, enc func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = enc(b)
	n := len(b) - start
	size := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, size)...)
	copy(b[start+size:], b[start:start+n])
	protowire.AppendVarint(b[:start], uint64(n))
	return b
}

// ReadFrame reads the next frame's payload from r into buf (grown as
// needed) and returns it. io.EOF means the peer closed the connection
// between frames.
func ReadFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("worker: frame of %d bytes exceeds the limit of %d", n, MaxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("worker: read frame of %d bytes: %w", n, err)
	}
	return buf, nil
}

// field is one decoded field: its number, and its value as a varint or
// as bytes (which alias the frame).
type field struct {
	num   protowire.Number
	typ   protowire.Type
	u     uint64
	bytes []byte
}

// eachField calls fn for every field of message b, skipping fixed-size
// ones, and stops at the first error.
func eachField(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.VarintType && typ != protowire.BytesType {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks that a known field has the wire type worker.proto gives it.
func (f field) want(typ protowire.Type) error {
	if f.typ != typ {
		return fmt.Errorf("field %d has wire type %d, want %d", f.num, f.typ, typ)
	}
	return nil
}

func (f field) str() (string, error)  { return string(f.bytes), f.want(protowire.BytesType) }
func (f field) uint() (uint64, error) { return f.u, f.want(protowire.VarintType) }

// DecodeFrame decodes one frame payload (without its length). The
// result does not alias b.
func DecodeFrame(b []byte) (*Frame, error) {
	f := &Frame{}
	bodies := 0
	err := eachField(b, func(fl field) error {
		var err error
		switch fl.num {
		case frameID:
			f.ID, err = fl.uint()
			return err
		case frameLoad, frameCall, frameUnload, frameLoaded, frameResult:
			if err := fl.want(protowire.BytesType); err != nil {
				return err
			}
			bodies++
		default:
			return nil
		}
		switch fl.num {
		case frameLoad:
			f.Load, err = decodeLoad(fl.bytes)
		case frameCall:
			f.Call, err = decodeCall(fl.bytes)
		case frameUnload:
			f.Unload = &Unload{}
			err = eachField(fl.bytes, func(x field) error {
				if x.num == 1 {
					f.Unload.Instance, err = x.uint()
					return err
				}
				return nil
			})
		case frameLoaded:
			f.Loaded = &Loaded{}
			err = eachField(fl.bytes, func(x field) error {
				switch x.num {
				case 1:
					if err := x.want(protowire.BytesType); err != nil {
						return err
					}
					f.Loaded.Err, err = decodeError(x.bytes)
					return err
				case 2:
					f.Loaded.Goroutine, err = x.uint()
					return err
				}
				return nil
			})
		case frameResult:
			f.Result, err = decodeResult(fl.bytes)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("worker: malformed frame: %w", err)
	}
	if bodies != 1 {
		return nil, fmt.Errorf("worker: malformed frame: %d bodies, want 1", bodies)
	}
	return f, nil
}

func decodeLoad(b []byte) (*Load, error) {
	l := &Load{}
	return l, eachField(b, func(f field) error {
		var err error
		var u uint64
		switch f.num {
		case loadInstance:
			l.Instance, err = f.uint()
		case loadSource:
			l.Source, err = f.str()
		case loadMaxOutput:
			u, err = f.uint()
			l.MaxOutput = int64(u)
		case loadApp:
			l.App, err = f.str()
		case loadScriptID:
			u, err = f.uint()
			l.ScriptID = int64(u)
		case loadVersion:
			u, err = f.uint()
			l.Version = int64(u)
		case loadMaxResponseBody:
			u, err = f.uint()
			l.MaxResponseBody = int64(u)
		}
		return err
	})
}

func decodeCall(b []byte) (*Call, error) {
	c := &Call{}
	return c, eachField(b, func(f field) error {
		var err error
		switch f.num {
		case callInstance:
			c.Instance, err = f.uint()
		case callRequest:
			if err = f.want(protowire.BytesType); err == nil {
				c.Request, err = decodeRequest(f.bytes)
			}
		}
		return err
	})
}

func decodeRequest(b []byte) (*sdk.Request, error) {
	r := &sdk.Request{}
	return r, eachField(b, func(f field) error {
		var err error
		switch f.num {
		case reqMethod:
			r.Method, err = f.str()
		case reqPath:
			r.Path, err = f.str()
		case reqHost:
			r.Host, err = f.str()
		case reqParams:
			r.Params, err = decodeEntry(r.Params, f)
		case reqDomainParams:
			r.DomainParams, err = decodeEntry(r.DomainParams, f)
		case reqHeaders:
			r.Headers, err = decodeEntry(r.Headers, f)
		case reqQuery:
			if r.Query == nil {
				r.Query = url.Values{}
			}
			err = decodeQuery(r.Query, f)
		case reqBody:
			if err = f.want(protowire.BytesType); err == nil {
				r.Body = append([]byte(nil), f.bytes...)
			}
		case reqRequestID:
			r.RequestID, err = f.str()
		case reqApp:
			r.App, err = f.str()
		}
		return err
	})
}

func decodeEntry(m map[string]string, f field) (map[string]string, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return m, err
	}
	var k, v string
	err := eachField(f.bytes, func(x field) error {
		var err error
		switch x.num {
		case entryKey:
			k, err = x.str()
		case entryValue:
			v, err = x.str()
		}
		return err
	})
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m, err
}

func decodeQuery(q url.Values, f field) error {
	if err := f.want(protowire.BytesType); err != nil {
		return err
	}
	var k string
	var vs []string
	err := eachField(f.bytes, func(x field) error {
		s, err := x.str()
		switch x.num {
		case entryKey:
			k = s
		case entryValue:
			vs = append(vs, s)
		default:
			return nil
		}
		return err
	})
	q[k] = append(q[k], vs...)
	return err
}

func decodeResult(b []byte) (*Result, error) {
	r := &Result{}
	return r, eachField(b, func(f field) error {
		var err error
		var u uint64
		switch f.num {
		case resStatus:
			u, err = f.uint()
			r.Response.Status = int(int64(u))
		case resHeaders:
			r.Response.Headers, err = decodeEntry(r.Response.Headers, f)
		case resBody:
			if err = f.want(protowire.BytesType); err == nil {
				r.Response.Body = append([]byte(nil), f.bytes...)
			}
		case resOutput:
			r.Output, err = f.str()
		case resDuration:
			u, err = f.uint()
			r.Duration = time.Duration(u)
		case resError:
			if err = f.want(protowire.BytesType); err == nil {
				r.Err, err = decodeError(f.bytes)
			}
		}
		return err
	})
}

func decodeError(b []byte) (*Error, error) {
	e := &Error{}
	return e, eachField(b, func(f field) error {
		var err error
		var u uint64
		switch f.num {
		case errKind:
			u, err = f.uint()
			e.Kind = ErrorKind(u)
		case errMessage:
			e.Message, err = f.str()
		case errLine:
			u, err = f.uint()
			e.Line = int(int64(u))
		case errColumn:
			u, err = f.uint()
			e.Column = int(int64(u))
		case errFunc:
			e.Func, err = f.str()
		}
		return err
	})
}
