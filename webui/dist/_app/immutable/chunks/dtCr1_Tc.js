function e(e,t=Date.now()){let n=Math.round((t-Date.parse(e))/1e3);return isFinite(n)?n<5?`just now`:n<60?`${n}s ago`:n<3600?`${Math.floor(n/60)}m ago`:n<86400?`${Math.floor(n/3600)}h ago`:`${Math.floor(n/86400)}d ago`:``}function t(e){let t=new Date(e);return isNaN(t)?``:t.toLocaleString()}function n(e){return e<1e3?`${e} µs`:e<1e6?`${(e/1e3).toFixed(e<1e4?2:1)} ms`:`${(e/1e6).toFixed(2)} s`}function r(e){return e>=500?`bad`:e>=400?`warn`:`good`}function i(e,t){return`${e} ${t}${e===1?``:`s`}`}var a=`package main

import "picloud"

// Handle answers one request. req.Params holds the route's :params,
// req.QueryParam reads the query string; picloud.Log lands in the
// invocation's log.
func Handle(req *picloud.Request) *picloud.Response {
	name := req.QueryParam("name")
	if name == "" {
		name = "world"
	}
	picloud.Log("greeting", name)
	return picloud.JSON(200, map[string]any{"hello": name})
}
`;export{r as a,i,e as n,t as o,n as r,a as t};