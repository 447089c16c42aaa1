// Command render is NOT helm. It renders a Helm v3 chart with helm's template engine (Go
// text/template plus the sprig function library, as helm does) for the features the xspectre
// chart uses, and lints a subset of what `helm lint` checks. It exists because the helm binary
// cannot be installed on the CI machines (infra/helm/README.md); where helm exists, operators run
// `helm lint` and `helm template`.
//
//	render template CHART [-f values.yaml]... [--set a.b=c]... [--name RELEASE] [--namespace NS] [--json]
//	render lint CHART [-f values.yaml]... [--set a.b=c]...
//
// Exit codes: 0 ok; 1 the chart or the values are wrong (every problem on stderr); 2 usage.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type options struct {
	mode       string
	chart      string
	valueFiles []string
	sets       []string
	name       string
	namespace  string
	json       bool
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "render: %s\nusage: render template|lint CHART [-f values.yaml]... [--set a.b=c]... [--name RELEASE] [--namespace NS] [--json]\n", msg)
	os.Exit(2)
}

func parseArgs(args []string) options {
	o := options{name: "release-name", namespace: "default"}
	if len(args) < 2 {
		usage("a mode and a chart directory are required")
	}
	o.mode, o.chart = args[0], args[1]
	if o.mode != "template" && o.mode != "lint" {
		usage("mode must be template or lint")
	}
	for i := 2; i < len(args); i++ {
		next := func() string {
			if i+1 >= len(args) {
				usage(args[i] + " needs a value")
			}
			i++
			return args[i]
		}
		switch args[i] {
		case "-f", "--values":
			o.valueFiles = append(o.valueFiles, next())
		case "--set":
			o.sets = append(o.sets, next())
		case "--name":
			o.name = next()
		case "--namespace", "-n":
			o.namespace = next()
		case "--json":
			o.json = true
		default:
			usage("unknown argument " + args[i])
		}
	}
	return o
}

// normalize turns yaml.v3's decoded values into JSON-like ones (map[string]interface{},
// []interface{}, int64/float64), the shapes helm's values have after sigs.k8s.io/yaml.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []interface{}:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	case int:
		return int64(t)
	default:
		return v
	}
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return normalize(m).(map[string]interface{}), nil
}

// mergeValues merges src over dst as helm does: maps merge key by key, anything else replaces,
// and a null in src deletes the key.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// parseSet applies one --set a.b.c=value (comma-separated pairs, as helm; no list indexes).
// Values are typed as helm's strvals does: true/false, integers, null, else strings.
func parseSet(values map[string]interface{}, expr string) error {
	for _, pair := range strings.Split(expr, ",") {
		eq := strings.Index(pair, "=")
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", pair)
		}
		keys := strings.Split(pair[:eq], ".")
		raw := pair[eq+1:]
		var value interface{} = raw
		switch {
		case raw == "true":
			value = true
		case raw == "false":
			value = false
		case raw == "null":
			value = nil
		default:
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || !strings.HasPrefix(raw, "0")) {
				value = n
			}
		}
		m := values
		for _, k := range keys[:len(keys)-1] {
			child, ok := m[k].(map[string]interface{})
			if !ok {
				child = map[string]interface{}{}
				m[k] = child
			}
			m = child
		}
		last := keys[len(keys)-1]
		if value == nil {
			delete(m, last)
		} else {
			m[last] = value
		}
	}
	return nil
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

type chartMeta struct {
	APIVersion  string `yaml:"apiVersion"`
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
	KubeVersion string `yaml:"kubeVersion"`
}

// The Chart object as templates see it (helm's chart.Metadata field names).
func (c chartMeta) object() map[string]interface{} {
	return map[string]interface{}{
		"APIVersion": c.APIVersion, "Name": c.Name, "Version": c.Version, "AppVersion": c.AppVersion,
		"Description": c.Description, "Type": c.Type, "KubeVersion": c.KubeVersion,
	}
}

var semverRE = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func loadChart(dir string) (chartMeta, []string) {
	var c chartMeta
	var problems []string
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return c, []string{"Chart.yaml: " + err.Error()}
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, []string{"Chart.yaml: " + err.Error()}
	}
	if c.APIVersion != "v2" {
		problems = append(problems, "Chart.yaml: apiVersion must be v2 (a Helm 3 chart)")
	}
	if !nameRE.MatchString(c.Name) {
		problems = append(problems, "Chart.yaml: name is required (lowercase letters, digits and -)")
	} else if filepath.Base(filepath.Clean(dir)) != c.Name {
		problems = append(problems, fmt.Sprintf("Chart.yaml: name %q must match the chart's directory name", c.Name))
	}
	if !semverRE.MatchString(c.Version) {
		problems = append(problems, fmt.Sprintf("Chart.yaml: version %q is not a semantic version", c.Version))
	}
	if c.Type != "" && c.Type != "application" && c.Type != "library" {
		problems = append(problems, "Chart.yaml: type must be application or library")
	}
	return c, problems
}

type renderedDoc struct {
	Source string
	Text   string
}

// render executes every template the way helm's engine does: all files under templates/ are
// parsed into one template set (so `include` sees the partials), files whose name starts with
// "_" only define partials, NOTES.txt is skipped (lint renders it to check it), output in sorted
// order by path.
func render(dir string, values map[string]interface{}, chart chartMeta, o options) ([]renderedDoc, error) {
	tdir := filepath.Join(dir, "templates")
	var files []string
	err := filepath.Walk(tdir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)

	// lint is strict as `helm lint --strict`: a value the templates name but values.yaml lacks is
	// an error (a typo would otherwise render as nothing).
	missing := "missingkey=zero"
	if o.mode == "lint" {
		missing = "missingkey=error"
	}
	root := template.New("gotpl").Option(missing)
	funcs := sprig.TxtFuncMap()
	// Helm's own additions to sprig (pkg/engine/funcs.go), the ones this chart needs.
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return normalize(m).(map[string]interface{})
	}
	funcs["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	root.Funcs(funcs)

	chartName := chart.Name
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if _, err := root.New(filepath.ToSlash(filepath.Join(chartName, rel))).Parse(string(data)); err != nil {
			return nil, err
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart.object(),
		"Release": map[string]interface{}{
			"Name": o.name, "Namespace": o.namespace, "Service": "Helm", "Revision": 1, "IsInstall": true, "IsUpgrade": false,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30", "GitVersion": "v1.30.0"},
			"APIVersions": []string{"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1"},
		},
		"Template": map[string]interface{}{"BasePath": chartName + "/templates"},
	}

	var out []renderedDoc
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		base := filepath.Base(f)
		if strings.HasPrefix(base, "_") || (base == "NOTES.txt" && o.mode != "lint") {
			continue
		}
		name := filepath.ToSlash(filepath.Join(chartName, rel))
		top["Template"].(map[string]interface{})["Name"] = name
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, top); err != nil {
			return nil, err
		}
		// lint renders NOTES.txt too (helm prints it after an install), but it is no manifest.
		if base == "NOTES.txt" {
			continue
		}
		// text/template prints a missing value as "<no value>"; helm removes it.
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		out = append(out, renderedDoc{Source: name, Text: text})
	}
	return out, nil
}

// splitDocs splits rendered files into YAML documents and keeps the non-empty ones.
func splitDocs(docs []renderedDoc) []renderedDoc {
	var out []renderedDoc
	sep := regexp.MustCompile(`(?m)^---[ \t]*$`)
	for _, d := range docs {
		for _, part := range sep.Split(d.Text, -1) {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			out = append(out, renderedDoc{Source: d.Source, Text: strings.Trim(part, "\n") + "\n"})
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func checkDoc(d renderedDoc) (map[string]interface{}, error) {
	obj := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(d.Text), &obj); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", d.Source, err)
	}
	obj = normalize(obj).(map[string]interface{})
	meta, _ := obj["metadata"].(map[string]interface{})
	name, _ := meta["name"].(string)
	if s, _ := obj["apiVersion"].(string); s == "" {
		return nil, fmt.Errorf("%s: a document has no apiVersion", d.Source)
	}
	if s, _ := obj["kind"].(string); s == "" {
		return nil, fmt.Errorf("%s: a document has no kind", d.Source)
	}
	if name == "" {
		return nil, fmt.Errorf("%s: a %v has no metadata.name", d.Source, obj["kind"])
	}
	return obj, nil
}

func main() {
	o := parseArgs(os.Args[1:])
	chart, problems := loadChart(o.chart)
	if len(problems) > 0 {
		fail(problems)
	}
	values, err := readYAMLMap(filepath.Join(o.chart, "values.yaml"))
	if err != nil {
		fail([]string{"values.yaml: " + err.Error()})
	}
	for _, f := range o.valueFiles {
		extra, err := readYAMLMap(f)
		if err != nil {
			fail([]string{err.Error()})
		}
		values = mergeValues(values, extra)
	}
	for _, s := range o.sets {
		if err := parseSet(values, s); err != nil {
			usage(err.Error())
		}
	}

	// Like helm install/template/lint: the merged values must meet values.schema.json.
	if data, err := os.ReadFile(filepath.Join(o.chart, "values.schema.json")); err == nil {
		var schema map[string]interface{}
		if err := json.Unmarshal(data, &schema); err != nil {
			fail([]string{"values.schema.json: " + err.Error()})
		}
		// Compare as JSON, as helm does.
		var asJSON interface{}
		b, _ := json.Marshal(values)
		_ = json.Unmarshal(b, &asJSON)
		if errs := validate(schema, asJSON, ""); len(errs) > 0 {
			fail(append([]string{"values don't meet the specifications of the schema(s) in the following chart(s):", chart.Name + ":"}, prefix("- ", errs)...))
		}
	} else if o.mode == "lint" {
		fmt.Fprintln(os.Stderr, "[INFO] values.schema.json: none (values are not checked)")
	}

	rendered, err := render(o.chart, values, chart, o)
	if err != nil {
		fail([]string{"rendering: " + err.Error()})
	}
	docs := splitDocs(rendered)
	var objects []map[string]interface{}
	var bad []string
	for _, d := range docs {
		obj, err := checkDoc(d)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		objects = append(objects, obj)
	}
	if len(bad) > 0 {
		fail(bad)
	}
	if len(objects) == 0 {
		fail([]string{"the chart rendered no objects"})
	}

	if o.mode == "lint" {
		fmt.Printf("==> Linting %s\n1 chart(s) linted, 0 chart(s) failed (%d objects rendered)\n", o.chart, len(objects))
		return
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(objects); err != nil {
			fail([]string{err.Error()})
		}
		return
	}
	for _, d := range docs {
		fmt.Printf("---\n# Source: %s\n%s", d.Source, d.Text)
	}
}

func prefix(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}

func fail(problems []string) {
	fmt.Fprintln(os.Stderr, "Error: "+strings.Join(problems, "\n"))
	os.Exit(1)
}
