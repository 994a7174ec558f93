#!/bin/sh
# A stand-in for node in tests: whatever script and flags it is given, it
# reports one trial whose answers are wrong (fibonacci 10 is 55, not 56).
echo 'CALC_RESULT {"model":"node","kind":"fibonacci","n":10,"tasks":4,"workers":1,"inflight":64,"trial":1,"duration_s":0.01,"tasks_per_s":400,"p50_ms":1,"p99_ms":2,"checked":4,"mismatches":0,"answers":{"fibonacci":"56"},"per_worker":[{"worker":0,"pid":1,"tasks":4,"busy_ms":0.1}]}'
