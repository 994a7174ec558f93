package results_test

import (
	"fmt"

	"github.com/clusterbench/clusterbench/bench/results"
)

func ExampleMsText() {
	for _, ms := range []float64{1500, 12.4, 0.2, 61234.5} {
		fmt.Println(results.MsText(ms))
	}
	// Output:
	// 1.5s
	// 12ms
	// 0s
	// 1m1.235s
}
