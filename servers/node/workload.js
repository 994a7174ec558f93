'use strict';
// The four calculations of servers/workload, shared by cluster.js (the HTTP
// reference) and worker-calculation.js (the calc original): the same
// definitions, bounds and exact decimal results as the Go package. No npm
// packages.

// KINDS in the order of a mix, as in Go.
const KINDS = ['factorial', 'sum', 'primes', 'fibonacci'];

// BOUNDS is the largest n of each kind (the smallest is 0).
const BOUNDS = { factorial: 20000, sum: 1000000000, primes: 100000000, fibonacci: 40 };

// Product of lo..hi by binary splitting, so 20000! takes milliseconds.
function rangeProduct(lo, hi) {
  if (lo > hi) return 1n;
  if (lo === hi) return BigInt(lo);
  if (hi - lo < 16) {
    let p = 1n;
    for (let i = lo; i <= hi; i++) p *= BigInt(i);
    return p;
  }
  const mid = Math.floor((lo + hi) / 2);
  return rangeProduct(lo, mid) * rangeProduct(mid + 1, hi);
}

function factorial(n) {
  return n < 2 ? 1n : rangeProduct(1, n);
}

// 1+2+…+n by a loop (the loop is the workload); partial sums stay below
// 2^53 (at most 1e6 terms ≤ 1e9 each) and are added exactly as BigInt.
function sumTo(n) {
  let total = 0n;
  const chunk = 1000000;
  for (let lo = 1; lo <= n; lo += chunk) {
    const hi = Math.min(lo + chunk - 1, n);
    let s = 0;
    for (let i = lo; i <= hi; i++) s += i;
    total += BigInt(s);
  }
  return total;
}

// π(n) by a segmented sieve of Eratosthenes over odd numbers.
function primesUpTo(n) {
  if (n < 2) return 0;
  if (n < 3) return 1;
  let root = Math.floor(Math.sqrt(n));
  while (root * root > n) root--;
  while ((root + 1) * (root + 1) <= n) root++;
  const small = new Uint8Array(root + 1);
  const base = [];
  for (let i = 3; i <= root; i += 2) {
    if (small[i]) continue;
    base.push(i);
    for (let j = i * i; j <= root; j += 2 * i) small[j] = 1;
  }
  let count = 1; // the prime 2
  const SEG = 32768;
  const seg = new Uint8Array(SEG);
  const last = Math.floor((n - 1) / 2); // index k stands for 2k+1
  for (let lo = 1; lo <= last; lo += SEG) {
    const hi = Math.min(lo + SEG - 1, last);
    const len = hi - lo + 1;
    seg.fill(0, 0, len);
    for (const p of base) {
      let start = p * p;
      const lowVal = 2 * lo + 1;
      if (start < lowVal) {
        start = Math.ceil(lowVal / p) * p;
        if (start % 2 === 0) start += p;
      }
      if (start > 2 * hi + 1) continue;
      for (let j = (start - 1) / 2; j <= hi; j += p) seg[j - lo] = 1;
    }
    for (let k = 0; k < len; k++) if (!seg[k]) count++;
  }
  return count;
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

// compute returns the exact result of kind at n as a decimal string; it
// throws on an unknown kind (callers check n against BOUNDS first).
function compute(kind, n) {
  switch (kind) {
    case 'fibonacci': return String(fib(n));
    case 'factorial': return factorial(n).toString();
    case 'sum': return sumTo(n).toString();
    case 'primes': return String(primesUpTo(n));
    default: throw new Error(`unknown kind ${kind}`);
  }
}

module.exports = { KINDS, BOUNDS, compute };
