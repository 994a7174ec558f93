module github.com/clusterbench/clusterbench

go 1.26.8

require github.com/spf13/pflag v1.1.0

require (
	github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
	golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da // indirect
)
