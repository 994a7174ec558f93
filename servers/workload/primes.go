package workload

import "math"

// segmentBytes is the sieve window: it fits a typical L1/L2 cache, so memory
// stays flat whatever n is.
const segmentBytes = 32 << 10

// PrimesUpTo returns π(n), the count of primes ≤ n, with a segmented sieve of
// Eratosthenes over odd numbers. Memory is O(√n + segmentBytes).
func PrimesUpTo(n int64) int64 {
	if n < 2 {
		return 0
	}
	if n < 3 {
		return 1
	}
	root := int64(math.Sqrt(float64(n)))
	for root*root > n {
		root--
	}
	for (root+1)*(root+1) <= n {
		root++
	}
	// Base primes ≤ √n (odd only) by a simple sieve.
	small := make([]bool, root+1) // true = composite
	var base []int64
	for i := int64(3); i <= root; i += 2 {
		if small[i] {
			continue
		}
		base = append(base, i)
		for j := i * i; j <= root; j += 2 * i {
			small[j] = true
		}
	}
	count := int64(1) // the prime 2
	// Segment index k covers odd number 2k+1; k ranges over [1, (n-1)/2].
	last := (n - 1) / 2
	seg := make([]bool, segmentBytes)
	for lo := int64(1); lo <= last; lo += segmentBytes {
		hi := min(lo+segmentBytes-1, last)
		w := seg[:hi-lo+1]
		clear(w)
		for _, p := range base {
			// first odd multiple of p that is ≥ max(p*p, 2lo+1)
			start := p * p
			if lowVal := 2*lo + 1; start < lowVal {
				start = (lowVal + p - 1) / p * p
				if start%2 == 0 {
					start += p
				}
			}
			if start > 2*hi+1 {
				continue
			}
			for j := (start - 1) / 2; j <= hi; j += p {
				w[j-lo] = true
			}
		}
		for _, c := range w {
			if !c {
				count++
			}
		}
	}
	return count
}
