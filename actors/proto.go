package actors

import (
	"time"

	"github.com/picloud/picloud/actors/actorspb"
)

// The data plane's types as they cross a node (package actorspb). A call
// placed on the caller's own node is never converted: see actorspb's doc
// for the reply path and the local fast path.

// RequestToProto is req as it crosses a node.
func RequestToProto(req *Request) *actorspb.Request {
	return &actorspb.Request{
		Method:       []byte(req.Method),
		Path:         []byte(req.Path),
		Host:         []byte(req.Host),
		RawQuery:     []byte(req.RawQuery),
		RequestId:    req.RequestID,
		Headers:      headersToProto(req.Headers),
		Body:         req.Body,
		DomainParams: paramsToProto(req.DomainParams),
		Trigger:      []byte(req.Trigger),
		Depth:        int32(req.Depth),
	}
}

// RequestFromProto is the Request p carries. It takes over p's body.
func RequestFromProto(p *actorspb.Request) *Request {
	return &Request{
		Method:       string(p.GetMethod()),
		Path:         string(p.GetPath()),
		Host:         string(p.GetHost()),
		RawQuery:     string(p.GetRawQuery()),
		RequestID:    p.GetRequestId(),
		Headers:      headersFromProto(p.GetHeaders()),
		Body:         p.GetBody(),
		DomainParams: paramsFromProto(p.GetDomainParams()),
		Trigger:      string(p.GetTrigger()),
		Depth:        int(p.GetDepth()),
	}
}

// ResultToProto is res as it crosses a node.
func ResultToProto(res *Result) *actorspb.Result {
	return &actorspb.Result{
		Status:       int32(res.Status),
		Headers:      headersToProto(res.Headers),
		Body:         res.Body,
		ErrCode:      res.ErrCode,
		ErrMessage:   []byte(res.ErrMessage),
		RouteId:      res.RouteID,
		ScriptId:     res.ScriptID,
		Version:      res.Version,
		Output:       []byte(res.Output),
		DurationNs:   int64(res.Duration),
		RetryAfterNs: int64(res.RetryAfter),
		Fetches:      fetchesToProto(res.Fetches),
		Node:         []byte(res.Node),
	}
}

// ResultFromProto is the Result p carries. It takes over p's body.
func ResultFromProto(p *actorspb.Result) Result {
	return Result{
		Status:     int(p.GetStatus()),
		Headers:    headersFromProto(p.GetHeaders()),
		Body:       p.GetBody(),
		ErrCode:    p.GetErrCode(),
		ErrMessage: string(p.GetErrMessage()),
		RouteID:    p.GetRouteId(),
		ScriptID:   p.GetScriptId(),
		Version:    p.GetVersion(),
		Output:     string(p.GetOutput()),
		Duration:   time.Duration(p.GetDurationNs()),
		RetryAfter: time.Duration(p.GetRetryAfterNs()),
		Fetches:    fetchesFromProto(p.GetFetches()),
		Node:       string(p.GetNode()),
	}
}

func fetchesToProto(fs []FetchRecord) []*actorspb.Fetch {
	if fs == nil {
		return nil
	}
	out := make([]*actorspb.Fetch, len(fs))
	for i, f := range fs {
		out[i] = &actorspb.Fetch{Method: []byte(f.Method), Url: []byte(f.URL), Status: int32(f.Status),
			DurationMs: f.DurationMS, Error: []byte(f.Error)}
	}
	return out
}

func fetchesFromProto(fs []*actorspb.Fetch) []FetchRecord {
	if fs == nil {
		return nil
	}
	out := make([]FetchRecord, len(fs))
	for i, f := range fs {
		out[i] = FetchRecord{Method: string(f.GetMethod()), URL: string(f.GetUrl()), Status: int(f.GetStatus()),
			DurationMS: f.GetDurationMs(), Error: string(f.GetError())}
	}
	return out
}

func headersToProto(hs []Header) []*actorspb.Header {
	if hs == nil {
		return nil
	}
	out := make([]*actorspb.Header, len(hs))
	for i, h := range hs {
		out[i] = &actorspb.Header{Name: []byte(h.Name), Value: []byte(h.Value)}
	}
	return out
}

func headersFromProto(hs []*actorspb.Header) []Header {
	if hs == nil {
		return nil
	}
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{Name: string(h.GetName()), Value: string(h.GetValue())}
	}
	return out
}

func paramsToProto(m map[string]string) []*actorspb.Header {
	if m == nil {
		return nil
	}
	out := make([]*actorspb.Header, 0, len(m))
	for k, v := range m {
		out = append(out, &actorspb.Header{Name: []byte(k), Value: []byte(v)})
	}
	return out
}

func paramsFromProto(hs []*actorspb.Header) map[string]string {
	if len(hs) == 0 {
		return nil
	}
	out := make(map[string]string, len(hs))
	for _, h := range hs {
		out[string(h.GetName())] = string(h.GetValue())
	}
	return out
}
