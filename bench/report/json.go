package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// JSON renders the run as summary.json: the results.Run itself, indented.
// A run holding a NaN or infinite number (which JSON cannot carry) is
// refused with the field's path.
func JSON(run *results.Run) Reporter {
	return func(w io.Writer) error {
		if path := nonFinite(reflect.ValueOf(run), "run"); path != "" {
			return fmt.Errorf("report: %s is not a finite number; JSON cannot hold it", path)
		}
		b, err := json.MarshalIndent(run, "", "  ")
		if err != nil {
			return fmt.Errorf("report: encode summary.json: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
}

// nonFinite returns the path of the first NaN or ±Inf float in v, or "".
func nonFinite(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nonFinite(v.Elem(), path)
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" {
				name = f.Name
			}
			if p := nonFinite(v.Field(i), path+"."+name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := nonFinite(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p := nonFinite(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key())); p != "" {
				return p
			}
		}
	}
	return ""
}
