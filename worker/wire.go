package worker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// The messages of the protocol (Frame, Load, Call, ...) and their codec
// are generated from worker.proto into worker.pb.go and
// worker_vtproto.pb.go (`make proto`). This file frames them and
// converts between them and the sandbox's types. Only the generated
// vtprotobuf codec touches the wire: it does not reject strings that are
// not UTF-8, which HTTP paths, headers and script output may be, where
// proto.Marshal would.

// MaxFrame bounds the size of one frame: the largest request body the
// server accepts (1 GiB) plus room for the rest of the request.
const MaxFrame = 1<<30 + 1<<20

// AppendFrame appends f to b as a length-prefixed frame.
func AppendFrame(b []byte, f *Frame) []byte {
	n := f.SizeVT()
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	if _, err := f.MarshalToSizedBufferVT(b[start:]); err != nil {
		// The generated code only passes on the errors of nested
		// messages, and none of worker.proto's makes one.
		panic(fmt.Sprintf("worker: encode frame: %v", err))
	}
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

// DecodeFrame decodes one frame payload (without its length). The
// result does not alias b.
func DecodeFrame(b []byte) (*Frame, error) {
	f := &Frame{}
	if err := f.UnmarshalVT(b); err != nil {
		return nil, fmt.Errorf("worker: malformed frame: %w", err)
	}
	if f.Body == nil {
		return nil, errors.New("worker: malformed frame: no body")
	}
	return f, nil
}

// callFrame builds the Call frames of one instance in place: an instance
// makes one call at a time, and a frame is encoded before the write of
// it returns, so one set of messages serves every call without
// allocating. The request's maps are sent as they are.
type callFrame struct {
	frame   Frame
	body    Frame_Call
	call    Call
	req     Request
	query   []*QueryParam
	queryKV []QueryParam
}

// set fills the frame with a call of instance on r and returns it.
func (c *callFrame) set(instance uint64, r *sdk.Request) *Frame {
	c.call = Call{Instance: instance, Request: &c.req}
	c.body.Call = &c.call
	c.frame = Frame{Body: &c.body}
	if r == nil {
		r = &sdk.Request{}
	}
	c.queryKV = slices.Grow(c.queryKV[:0], len(r.Query))[:0]
	for k, vs := range r.Query {
		c.queryKV = append(c.queryKV, QueryParam{Key: k, Values: vs})
	}
	c.query = c.query[:0]
	for i := range c.queryKV {
		c.query = append(c.query, &c.queryKV[i])
	}
	c.req = Request{
		Method: r.Method, Path: r.Path, Host: r.Host,
		Params: r.Params, DomainParams: r.DomainParams, Query: c.query, Headers: r.Headers,
		Body: r.Body, RequestId: r.RequestID, App: r.App, Trigger: r.Trigger,
		HeaderValues: headerValuesToWire(sdk.HeaderValuesOf(r)),
	}
	return &c.frame
}

// headerValuesToWire is the rare repeated request headers as the
// protocol sends them; nil (no allocation) when there are none.
func headerValuesToWire(m map[string][]string) []*HeaderValues {
	if len(m) == 0 {
		return nil
	}
	out := make([]*HeaderValues, 0, len(m))
	for name, vs := range m {
		out = append(out, &HeaderValues{Name: name, Values: vs})
	}
	return out
}

func headerLinesToWire(hs []sdk.Header) []*HeaderLine {
	if len(hs) == 0 {
		return nil
	}
	out := make([]*HeaderLine, len(hs))
	for i, h := range hs {
		out[i] = &HeaderLine{Name: h.Name, Value: h.Value}
	}
	return out
}

func headerLinesFromWire(hs []*HeaderLine) []sdk.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]sdk.Header, len(hs))
	for i, h := range hs {
		out[i] = sdk.Header{Name: h.GetName(), Value: h.GetValue()}
	}
	return out
}

// fill makes dst the SDK's form of r, taking over r's maps and body. It
// reuses dst's query map: the sandbox hands a script a deep copy of its
// request, so nothing of dst outlives a call.
func (r *Request) fill(dst *sdk.Request) {
	query := dst.Query
	*dst = sdk.Request{
		Method: r.GetMethod(), Path: r.GetPath(), Host: r.GetHost(),
		Params: r.GetParams(), DomainParams: r.GetDomainParams(), Headers: r.GetHeaders(),
		Body: r.GetBody(), RequestID: r.GetRequestId(), App: r.GetApp(), Trigger: r.GetTrigger(),
	}
	if hv := r.GetHeaderValues(); len(hv) > 0 {
		m := make(map[string][]string, len(hv))
		for _, h := range hv {
			m[h.GetName()] = h.GetValues()
		}
		sdk.SetHeaderValues(dst, m)
	}
	if len(r.GetQuery()) == 0 {
		return
	}
	if query == nil {
		query = make(url.Values, len(r.GetQuery()))
	}
	clear(query)
	for _, p := range r.GetQuery() {
		if vs, ok := query[p.Key]; ok {
			query[p.Key] = append(vs, p.Values...)
		} else {
			query[p.Key] = p.Values
		}
	}
	dst.Query = query
}

// resultFrame builds the Result frames of one instance in place, as
// callFrame does its calls.
type resultFrame struct {
	frame  Frame
	body   Frame_Result
	result Result
}

// set fills the frame with the answer to call id and returns it.
func (rf *resultFrame) set(id uint64, out sandbox.Result) *Frame {
	rf.result = Result{
		Status: int32(out.Response.Status), Headers: out.Response.Headers, Body: out.Response.Body,
		Output: out.Output, DurationNs: int64(out.Duration), Error: wireError(out.Panic),
		AddedHeaders: headerLinesToWire(out.Response.Added),
	}
	if rf.result.Error == nil && out.Err != nil {
		rf.result.Error = wireError(out.Err)
	}
	rf.body.Result = &rf.result
	rf.frame = Frame{Id: id, Body: &rf.body}
	return &rf.frame
}

// sandboxResult is the result a sandbox in this process would have
// returned.
func (r *Result) sandboxResult() sandbox.Result {
	res := sandbox.Result{
		Response: sdk.Response{Status: int(r.GetStatus()), Headers: r.GetHeaders(), Body: r.GetBody(), Added: headerLinesFromWire(r.GetAddedHeaders())},
		Output:   r.GetOutput(), Duration: time.Duration(r.GetDurationNs()),
	}
	if e := r.GetError(); e != nil {
		if e.Kind == Error_KIND_PANIC {
			res.Panic = e.asError()
		} else {
			res.Err = e.asError()
		}
	}
	return res
}
