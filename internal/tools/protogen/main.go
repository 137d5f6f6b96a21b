// Command protogen regenerates the Go code of PiCloud's .proto files
// without protoc: it compiles them with bufbuild/protocompile and runs the
// generators of protoc-gen-go and protoc-gen-go-vtproto in this process,
// at the versions go.mod pins. `make proto` and CI's check of the
// committed code therefore need nothing but the Go module proxy.
//
// Usage, from the module root:
//
//	go run ./internal/tools/protogen [-check] [-vt a.proto,...] file.proto...
//
// Each file.proto gets file.pb.go (types) beside it, and each one -vt
// names also file_vtproto.pb.go (allocation-lean marshal, unmarshal and
// size). With -check it writes nothing and fails when a committed file
// differs from what it would generate. protoc with the two plugins at the
// same versions makes the same files, but for the protoc version line.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/planetscale/vtprotobuf/generator"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	// The vtprotobuf features we generate register themselves.
	_ "github.com/planetscale/vtprotobuf/features/marshal"
	_ "github.com/planetscale/vtprotobuf/features/size"
	_ "github.com/planetscale/vtprotobuf/features/unmarshal"
)

// vtFeatures are the vtprotobuf features generated: no pool, clone or
// equal, which nothing uses.
const vtFeatures = "marshal+unmarshal+size"

func main() {
	check := flag.Bool("check", false, "write nothing; fail when a generated file is not current")
	vt := flag.String("vt", "", "comma-separated .proto files that also get vtprotobuf code")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: protogen [-check] [-vt a.proto,...] file.proto...")
		os.Exit(2)
	}
	var vtNames []string
	if *vt != "" {
		vtNames = strings.Split(*vt, ",")
	}
	files, err := generate(context.Background(), flag.Args(), vtNames)
	if err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
	stale := 0
	for _, f := range files {
		if *check {
			old, err := os.ReadFile(f.GetName())
			if err != nil || !bytes.Equal(old, []byte(f.GetContent())) {
				fmt.Fprintf(os.Stderr, "protogen: %s is not current: run make proto and commit it\n", f.GetName())
				stale++
			}
			continue
		}
		if err := os.WriteFile(f.GetName(), []byte(f.GetContent()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "protogen:", err)
			os.Exit(1)
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
}

// generate compiles the .proto files and returns the Go files
// protoc-gen-go makes of names and protoc-gen-go-vtproto of vtNames.
func generate(ctx context.Context, names, vtNames []string) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	for _, n := range vtNames {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("-vt names %s, which is not among the files to generate", n)
		}
	}
	comp := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{}),
		SourceInfoMode: protocompile.SourceInfoStandard, // comments carry over into the Go code
	}
	compiled, err := comp.Compile(ctx, names...)
	if err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: names, ProtoFile: withDependencies(compiled)}
	goFiles, err := run(req, "paths=source_relative", nil, func(gen *protogen.Plugin) error {
		for _, f := range gen.Files {
			if f.Generate {
				gengo.GenerateFile(gen, f)
			}
		}
		gen.SupportedFeatures = gengo.SupportedFeatures
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("protoc-gen-go: %w", err)
	}
	if len(vtNames) == 0 {
		return goFiles, nil
	}
	vtReq := proto.CloneOf(req)
	vtReq.FileToGenerate = vtNames
	var features string
	vtFiles, err := run(vtReq, "paths=source_relative,features="+vtFeatures, func(name, value string) error {
		if name != "features" {
			return fmt.Errorf("unknown parameter %q", name)
		}
		features = value
		return nil
	}, func(gen *protogen.Plugin) error {
		g, err := generator.NewGenerator(gen, strings.Split(features, "+"), &generator.Config{})
		if err != nil {
			return err
		}
		g.Generate()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("protoc-gen-go-vtproto: %w", err)
	}
	for _, f := range vtFiles {
		f.Content = proto.String(vtVersionLine.ReplaceAllString(f.GetContent(), "${1}"+moduleVersion("github.com/planetscale/vtprotobuf")))
	}
	return append(goFiles, vtFiles...), nil
}

// vtVersionLine is where protoc-gen-go-vtproto names its own version,
// which it reads from the main module: in this process that is PiCloud's
// (a commit), so it is replaced by vtprotobuf's, as the plugin run alone
// would print it.
var vtVersionLine = regexp.MustCompile(`(?m)^(// protoc-gen-go-vtproto version: ).*$`)

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown)"
}

// withDependencies lists files and everything they import, each after
// its imports, as a CodeGeneratorRequest wants them.
func withDependencies(files linker.Files) []*descriptorpb.FileDescriptorProto {
	var out []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		if r, ok := fd.(linker.Result); ok {
			out = append(out, r.FileDescriptorProto())
		} else {
			out = append(out, protodesc.ToFileDescriptorProto(fd))
		}
	}
	for _, f := range files {
		add(f)
	}
	return out
}

// run runs one generator on req with the given parameter, as protoc
// would run its plugin.
func run(req *pluginpb.CodeGeneratorRequest, param string, paramFunc func(name, value string) error, gen func(*protogen.Plugin) error) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	req = proto.CloneOf(req)
	req.Parameter = proto.String(param)
	plugin, err := protogen.Options{ParamFunc: paramFunc}.New(req)
	if err != nil {
		return nil, err
	}
	if err := gen(plugin); err != nil {
		plugin.Error(err)
	}
	resp := plugin.Response()
	if resp.Error != nil {
		return nil, fmt.Errorf("%s", resp.GetError())
	}
	return resp.File, nil
}
