// Package actorspb holds the data plane's messages that cross a node,
// generated from actors.proto (`make proto`): Invoke, from a router to an
// executor on another member, and InvokeResult, the executor's answer.
// Package actors converts its own types to and from them; nothing here is
// written by hand but this comment.
//
// # How a reply crosses a node
//
// In one process an Invoke's Reply is a Go channel the executor writes
// to: no future, no process-registry entry, no timer per call. A channel
// cannot cross a node, and a protoactor future per call costs what
// DESIGN §3 measured (about 4 us: a registry entry and a timer each). So
// the caller's node keeps one reply process and a table of its calls in
// flight:
//
//   - Before sending, the router puts the call's local *actors.Reply in
//     its node's table under a correlation id (a counter, unique among
//     the node's calls in flight) and sends Invoke with that id and
//     reply_to, the PID of the node's reply process: one per node, under
//     a fixed name.
//   - The executor's node runs the call and sends InvokeResult with the
//     same correlation id to reply_to. The reply process (an
//     actor.Process, not an actor: no mailbox hop) takes the entry out of
//     the table and writes the result to the Reply, so the ingress waiting
//     on it sees what it sees today.
//   - An entry also leaves the table when its caller gives up (ingress's
//     timeout) and when the member running the call leaves or dies: the
//     membership event answers every call in flight on that member with
//     executor_lost (502), so a dead node costs errors, never a hang. A
//     late answer finds no entry and is dropped.
//
// The local fast path stays: when the executor a call is placed on lives
// in the caller's process (its PID's address is the local one), the
// router sends the in-process message with its Go channel, as it does
// now, and nothing is converted or marshalled. Only a call placed on
// another member pays for the conversion, the marshalling and the table
// entry.
//
// HTTP text travels as bytes, not strings: protoactor's remote marshals
// with proto.Marshal, which refuses strings that are not UTF-8, and a
// path (%FF), a header or a script's output may hold any bytes.
package actorspb
