// Package workload holds the four CPU-bound calculations that every server
// model and the calculation executors run: factorial, sum, primes and
// fibonacci.
//
// Every function is pure, safe for concurrent use, and bounded: the inputs
// are limited (see Bounds) so that the most expensive allowed call costs at
// most about a second of CPU on a 2025-era core. Results are returned as
// decimal strings because factorial and sum exceed 2^53 and must travel
// exactly through JSON and IPC.
package workload

import (
	"fmt"
	"math/big"
	"strconv"
)

// Kind names a calculation.
type Kind string

// The four calculations.
const (
	Factorial Kind = "factorial"
	Sum       Kind = "sum"
	Primes    Kind = "primes"
	Fibonacci Kind = "fibonacci"
)

// Kinds lists every calculation in a stable order.
var Kinds = []Kind{Factorial, Sum, Primes, Fibonacci}

// Bound is the inclusive range of n a calculation accepts.
type Bound struct{ Min, Max int64 }

// The documented bounds. Each Max costs roughly a second of CPU or less
// (measured by BenchmarkWorst*).
const (
	MaxFactorial = 20_000        // 20000! has 77,338 digits
	MaxSum       = 1_000_000_000 // a loop of 1e9 additions
	MaxPrimes    = 100_000_000   // segmented sieve to 1e8
	MaxFibonacci = 40            // naive recursion: 331,160,281 calls
)

// Bounds returns the allowed range of n for kind, and false for an unknown kind.
func Bounds(kind Kind) (Bound, bool) {
	switch kind {
	case Factorial:
		return Bound{0, MaxFactorial}, true
	case Sum:
		return Bound{0, MaxSum}, true
	case Primes:
		return Bound{0, MaxPrimes}, true
	case Fibonacci:
		return Bound{0, MaxFibonacci}, true
	}
	return Bound{}, false
}

// ParseKind returns the Kind named s, or an error listing the known kinds.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if _, ok := Bounds(k); !ok {
		return "", fmt.Errorf("unknown kind %q (allowed: factorial, sum, primes, fibonacci)", s)
	}
	return k, nil
}

// RangeError reports an n outside a kind's bounds.
type RangeError struct {
	Kind  Kind
	N     int64
	Bound Bound
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s: n=%d out of range (allowed: %d..%d)", e.Kind, e.N, e.Bound.Min, e.Bound.Max)
}

// Check reports whether n is allowed for kind.
func Check(kind Kind, n int64) error {
	b, ok := Bounds(kind)
	if !ok {
		_, err := ParseKind(string(kind))
		return err
	}
	if n < b.Min || n > b.Max {
		return &RangeError{Kind: kind, N: n, Bound: b}
	}
	return nil
}

// Compute runs kind on n and returns the exact result as a decimal string.
func Compute(kind Kind, n int64) (string, error) {
	if err := Check(kind, n); err != nil {
		return "", err
	}
	switch kind {
	case Factorial:
		return FactorialOf(n).String(), nil
	case Sum:
		return strconv.FormatUint(SumTo(n), 10), nil
	case Primes:
		return strconv.FormatInt(PrimesUpTo(n), 10), nil
	default:
		return strconv.FormatInt(Fib(n), 10), nil
	}
}

// FactorialOf returns n! exactly. It uses binary splitting (big.Int.MulRange),
// so 20000! takes milliseconds, not seconds. n must be ≥ 0.
func FactorialOf(n int64) *big.Int {
	if n < 2 {
		return big.NewInt(1)
	}
	return new(big.Int).MulRange(1, n)
}

// SumTo returns 1+2+…+n computed by a loop (the workload is the loop, not the
// closed form; Go's compiler does not turn such a loop into a formula, and
// the result is used, so the loop runs). n must be ≥ 0; the result fits a
// uint64 for every allowed n.
func SumTo(n int64) uint64 {
	var s uint64
	for i := uint64(1); i <= uint64(n); i++ {
		s += i
	}
	return s
}

// Fib returns the n-th Fibonacci number (Fib(0)=0, Fib(1)=1) by naive
// recursion, the classic CPU-bound task.
func Fib(n int64) int64 {
	if n < 2 {
		return n
	}
	return Fib(n-1) + Fib(n-2)
}
