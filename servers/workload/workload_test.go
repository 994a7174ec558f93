package workload

import (
	"errors"
	"testing"
)

func TestKnownAnswers(t *testing.T) {
	tests := []struct {
		kind Kind
		n    int64
		want string
	}{
		{Fibonacci, 0, "0"},
		{Fibonacci, 1, "1"},
		{Fibonacci, 2, "1"},
		{Fibonacci, 20, "6765"},
		{Fibonacci, 30, "832040"},
		{Factorial, 0, "1"},
		{Factorial, 1, "1"},
		{Factorial, 5, "120"},
		{Factorial, 20, "2432902008176640000"},
		{Factorial, 25, "15511210043330985984000000"},
		{Sum, 0, "0"},
		{Sum, 1, "1"},
		{Sum, 100, "5050"},
		{Sum, 1_000_000, "500000500000"},
		{Primes, 0, "0"},
		{Primes, 1, "0"},
		{Primes, 2, "1"},
		{Primes, 3, "2"},
		{Primes, 10, "4"},
		{Primes, 100, "25"},
		{Primes, 1000, "168"},
		{Primes, 65537, "6543"},
		{Primes, 1_000_000, "78498"},
		{Primes, 10_000_000, "664579"},
	}
	for _, tt := range tests {
		got, err := Compute(tt.kind, tt.n)
		if err != nil {
			t.Fatalf("Compute(%s, %d): %v", tt.kind, tt.n, err)
		}
		if got != tt.want {
			t.Errorf("Compute(%s, %d) = %s, want %s", tt.kind, tt.n, got, tt.want)
		}
	}
}

// TestPrimesAgainstNaive checks the segmented sieve against trial division
// around segment boundaries, where off-by-one errors live.
func TestPrimesAgainstNaive(t *testing.T) {
	isPrime := func(v int64) bool {
		if v < 2 {
			return false
		}
		for d := int64(2); d*d <= v; d++ {
			if v%d == 0 {
				return false
			}
		}
		return true
	}
	var count int64
	limit := int64(2*segmentBytes + 200)
	for v := int64(0); v <= limit; v++ {
		if isPrime(v) {
			count++
		}
		edge := v < 200 || (v > 2*segmentBytes-100 && v < 2*segmentBytes+100) || v == limit
		if edge {
			if got := PrimesUpTo(v); got != count {
				t.Fatalf("PrimesUpTo(%d) = %d, want %d", v, got, count)
			}
		}
	}
}

func TestSumMatchesClosedForm(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 12345, 99_999} {
		if got, want := SumTo(n), uint64(n)*uint64(n+1)/2; got != want {
			t.Errorf("SumTo(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFactorialDigits(t *testing.T) {
	if got := len(FactorialOf(MaxFactorial).String()); got != 77338 {
		t.Errorf("len(%d!) = %d digits, want 77338", MaxFactorial, got)
	}
}

func TestBounds(t *testing.T) {
	var re *RangeError
	for _, k := range Kinds {
		b, _ := Bounds(k)
		if err := Check(k, b.Max); err != nil {
			t.Errorf("Check(%s, max) = %v", k, err)
		}
		if err := Check(k, b.Max+1); !errors.As(err, &re) {
			t.Errorf("Check(%s, max+1) = %v, want RangeError", k, err)
		}
		if err := Check(k, -1); !errors.As(err, &re) {
			t.Errorf("Check(%s, -1) = %v, want RangeError", k, err)
		}
	}
	if _, err := Compute("cube", 3); err == nil {
		t.Error("Compute(cube) succeeded, want unknown-kind error")
	}
	if _, err := ParseKind("sum"); err != nil {
		t.Error(err)
	}
}

func benchKind(b *testing.B, kind Kind, n int64) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(kind, n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFibonacci27(b *testing.B)   { benchKind(b, Fibonacci, 27) }
func BenchmarkFactorial1000(b *testing.B) { benchKind(b, Factorial, 1000) }
func BenchmarkSum1e6(b *testing.B)        { benchKind(b, Sum, 1_000_000) }
func BenchmarkPrimes1e6(b *testing.B)     { benchKind(b, Primes, 1_000_000) }

// The worst allowed inputs: each should cost about a second or less.
func BenchmarkWorstFibonacci(b *testing.B) { benchKind(b, Fibonacci, MaxFibonacci) }
func BenchmarkWorstFactorial(b *testing.B) { benchKind(b, Factorial, MaxFactorial) }
func BenchmarkWorstSum(b *testing.B)       { benchKind(b, Sum, MaxSum) }
func BenchmarkWorstPrimes(b *testing.B)    { benchKind(b, Primes, MaxPrimes) }
