package calc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// WorkerEnv marks a process started by ProcessPool as a calculation
// worker. Its value is "3,4": the descriptors of the task pipe (read) and
// the result pipe (write). A binary that may serve as a worker checks it
// first (see IsWorker) and calls RunWorker.
const WorkerEnv = "CLUSTERBENCH_CALC_WORKER"

// Descriptors the pool gives a worker (ExtraFiles 0 and 1).
const (
	workerTaskFD   = 3
	workerResultFD = 4
	workerEnvValue = "3,4"
)

// ioBuffer is the size of every frame reader and writer buffer.
const ioBuffer = 64 << 10

// IsWorker reports whether getenv says this process is a pool worker.
func IsWorker(getenv func(string) string) bool { return getenv(WorkerEnv) != "" }

// RunWorker serves tasks on the descriptors named by WorkerEnv until the
// master closes the task pipe (nil) or the pipes fail. The caller exits
// afterwards; the master reaps it.
func RunWorker(getenv func(string) string) error {
	if v := getenv(WorkerEnv); v != workerEnvValue {
		return fmt.Errorf("%s=%q: not started by a calc process pool (want %q)", WorkerEnv, v, workerEnvValue)
	}
	in := os.NewFile(workerTaskFD, "calc-tasks")
	out := os.NewFile(workerResultFD, "calc-results")
	if in == nil || out == nil {
		return errors.New("calc worker: descriptors 3 and 4 are not open")
	}
	defer in.Close()
	defer out.Close()
	if err := WriteHello(out); err != nil {
		return err
	}
	return ServeWorker(in, out)
}

// WriteHello sends the frame that tells the master this process is a
// worker, ready for tasks; RunWorker sends it first.
func WriteHello(w io.Writer) error {
	if _, err := w.Write(appendHello(nil, os.Getpid())); err != nil {
		return fmt.Errorf("calc worker: hello: %w", err)
	}
	return nil
}

// ServeWorker reads task frames from r, computes them in order and writes a
// result frame for each to w. Results are buffered and flushed whenever no
// further task is already waiting, so a batch of tasks costs one read and
// one write. It returns nil on a clean EOF of r, and an error for a
// malformed frame or a failed write.
func ServeWorker(r io.Reader, w io.Writer) error {
	fr := newFrameReader(r, ioBuffer)
	bw := bufio.NewWriterSize(w, ioBuffer)
	var last time.Time
	reads := -1
	for {
		if fr.buffered() == 0 && bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("calc worker: write results: %w", err)
			}
		}
		body, err := fr.next()
		if err != nil {
			if err == io.EOF {
				return bw.Flush()
			}
			return fmt.Errorf("calc worker: read task: %w", err)
		}
		t, err := parseTask(body)
		if err != nil {
			return fmt.Errorf("calc worker: %w", err)
		}
		// One clock read per task: a task starts when the previous one
		// ended, unless the worker had to wait for it.
		if fr.cr.reads != reads {
			reads = fr.cr.reads
			last = time.Now()
		}
		status, payload := statusOK, ""
		kind, ok := kindOf(t.kind)
		switch {
		case !ok:
			status, payload = statusError, fmt.Sprintf("unknown kind code %d", t.kind)
		case t.n > 1<<62:
			status, payload = statusError, fmt.Sprintf("%s: n=%d out of range", kind, t.n)
		default:
			v, err := compute(kind, int64(t.n))
			if err != nil {
				status, payload = statusError, err.Error()
			} else {
				payload = v
			}
		}
		now := time.Now()
		ns := now.Sub(last)
		last = now
		if err := writeResult(bw, t.id, uint64(max(ns, 0)), byte(status), payload); err != nil {
			return fmt.Errorf("calc worker: write results: %w", err)
		}
	}
}
