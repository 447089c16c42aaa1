package main

// A JSON Schema (draft-07) subset, enough for the chart's values.schema.json: type, properties,
// required, additionalProperties, items, enum, const, minimum, maximum, minLength, maxLength,
// pattern, minItems, minProperties, propertyNames, not, allOf, anyOf, if/then/else. Messages follow helm's (gojsonschema's) wording
// and add the property's description, so an operator sees what the value is for.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
)

func jsonType(v interface{}) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if t == math.Trunc(t) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []interface{}:
		return "array"
	case map[string]interface{}:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeMatches(want string, v interface{}) bool {
	got := jsonType(v)
	return got == want || (want == "number" && got == "integer")
}

func at(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func withDescription(schema map[string]interface{}, msg string) string {
	if d, ok := schema["description"].(string); ok && d != "" {
		return msg + " (" + d + ")"
	}
	return msg
}

func num(v interface{}) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func validate(schema map[string]interface{}, v interface{}, path string) []string {
	var errs []string
	add := func(msg string) { errs = append(errs, at(path)+": "+withDescription(schema, msg)) }

	switch t := schema["type"].(type) {
	case string:
		if !typeMatches(t, v) {
			add(fmt.Sprintf("Invalid type. Expected: %s, given: %s", t, jsonType(v)))
			return errs
		}
	case []interface{}:
		ok := false
		for _, want := range t {
			if s, _ := want.(string); typeMatches(s, v) {
				ok = true
			}
		}
		if !ok {
			add(fmt.Sprintf("Invalid type. Expected one of %v, given: %s", t, jsonType(v)))
			return errs
		}
	}
	if enum, ok := schema["enum"].([]interface{}); ok {
		found := false
		for _, e := range enum {
			if reflect.DeepEqual(e, v) {
				found = true
			}
		}
		if !found {
			b, _ := json.Marshal(enum)
			add("must be one of the following: " + string(b))
		}
	}
	if c, ok := schema["const"]; ok && !reflect.DeepEqual(c, v) {
		b, _ := json.Marshal(c)
		add("Does not match: " + string(b))
	}
	if f, ok := num(v); ok {
		if min, ok := num(schema["minimum"]); ok && f < min {
			add(fmt.Sprintf("Must be greater than or equal to %v", min))
		}
		if max, ok := num(schema["maximum"]); ok && f > max {
			add(fmt.Sprintf("Must be less than or equal to %v", max))
		}
	}
	if s, ok := v.(string); ok {
		n := float64(len([]rune(s)))
		if min, ok := num(schema["minLength"]); ok && n < min {
			add(fmt.Sprintf("String length must be greater than or equal to %v", min))
		}
		if max, ok := num(schema["maxLength"]); ok && n > max {
			add(fmt.Sprintf("String length must be less than or equal to %v", max))
		}
		if p, ok := schema["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				add("the schema's pattern does not compile: " + err.Error())
			} else if !re.MatchString(s) {
				add(fmt.Sprintf("Does not match pattern '%s'", p))
			}
		}
	}
	if arr, ok := v.([]interface{}); ok {
		if min, ok := num(schema["minItems"]); ok && float64(len(arr)) < min {
			add(fmt.Sprintf("Array must have at least %v items", min))
		}
		if items, ok := schema["items"].(map[string]interface{}); ok {
			for i, e := range arr {
				errs = append(errs, validate(items, e, fmt.Sprintf("%s.%d", at(path), i))...)
			}
		}
	}
	if obj, ok := v.(map[string]interface{}); ok {
		props, _ := schema["properties"].(map[string]interface{})
		if min, ok := num(schema["minProperties"]); ok && float64(len(obj)) < min {
			add(fmt.Sprintf("Must have at least %v properties", min))
		}
		if req, ok := schema["required"].([]interface{}); ok {
			for _, r := range req {
				key, _ := r.(string)
				if _, present := obj[key]; !present {
					msg := key + " is required"
					if ps, ok := props[key].(map[string]interface{}); ok {
						msg = withDescription(ps, msg)
					}
					errs = append(errs, at(path)+": "+msg)
				}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if names, ok := schema["propertyNames"].(map[string]interface{}); ok {
			for _, k := range keys {
				for _, e := range validate(names, k, join(path, k)) {
					errs = append(errs, e+" (a property name)")
				}
			}
		}
		for _, k := range keys {
			if ps, ok := props[k].(map[string]interface{}); ok {
				errs = append(errs, validate(ps, obj[k], join(path, k))...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, at(path)+": Additional property "+k+" is not allowed")
				}
			case map[string]interface{}:
				errs = append(errs, validate(ap, obj[k], join(path, k))...)
			}
		}
	}
	if all, ok := schema["allOf"].([]interface{}); ok {
		for _, s := range all {
			if sub, ok := s.(map[string]interface{}); ok {
				errs = append(errs, validate(sub, v, path)...)
			}
		}
	}
	if any, ok := schema["anyOf"].([]interface{}); ok {
		matched := false
		for _, s := range any {
			if sub, ok := s.(map[string]interface{}); ok && len(validate(sub, v, path)) == 0 {
				matched = true
			}
		}
		if !matched {
			add("Must validate at least one schema (anyOf)")
		}
	}
	if not, ok := schema["not"].(map[string]interface{}); ok && len(validate(not, v, path)) == 0 {
		add("Must not validate the schema (not)")
	}
	if cond, ok := schema["if"].(map[string]interface{}); ok {
		branch := "else"
		if len(validate(cond, v, path)) == 0 {
			branch = "then"
		}
		if sub, ok := schema[branch].(map[string]interface{}); ok {
			errs = append(errs, validate(sub, v, path)...)
		}
	}
	return errs
}
