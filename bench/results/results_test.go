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

func ExampleFailures_Kinds() {
	b := results.TimelineBucket{Refused: 3, Status5xx: 1, Other: 2}
	fmt.Println(b.Failures().Kinds(), b.Failed())
	fmt.Println(len(results.Failures{}.Kinds()))
	// Output:
	// [3 refused 1 5xx 2 other] 6
	// 0
}
