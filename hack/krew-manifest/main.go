// Command krew-manifest renders the krew-release-bot template .krew.yaml into
// a krew plugin manifest for the archives goreleaser just built in dist/:
// the version from dist/metadata.json and the real sha256 of each archive.
// `make krew-manifest` writes plugins.yaml with it, so that the manifest can
// be validated and installed with krew against the local archives.
//
// The template language is krew-release-bot's: {{ .TagName }}, {{ .Version }}
// and {{ addURIAndSha "URL" .TagName }}, where URL may itself use
// {{ .TagName }} and the archive is the file of dist/ named like the URL's
// last element. -base-url replaces the directory of every URL, e.g. with a
// local server's, for installing from it.
//
// Usage: go run ./hack/krew-manifest [-template .krew.yaml] [-dist dist]
// [-tag vX.Y.Z] [-base-url URL] [-o plugins.yaml]
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

func main() {
	var o options
	flag.StringVar(&o.template, "template", ".krew.yaml", "krew-release-bot template to render")
	flag.StringVar(&o.dist, "dist", "dist", "goreleaser's output directory holding the archives and metadata.json")
	flag.StringVar(&o.tag, "tag", "", "release tag to render; default: v + the version in DIST/metadata.json")
	flag.StringVar(&o.baseURL, "base-url", "", "if set, download the archives from BASE-URL/ARCHIVE instead of the template's URLs")
	flag.StringVar(&o.out, "o", "plugins.yaml", "file to write the manifest to")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "krew-manifest: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := o.run(); err != nil {
		fmt.Fprintf(os.Stderr, "krew-manifest: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	template, dist, tag, baseURL, out string
}

func (o *options) run() error {
	if o.tag == "" {
		v, err := distVersion(o.dist)
		if err != nil {
			return err
		}
		o.tag = "v" + v
	}
	text, err := os.ReadFile(o.template)
	if err != nil {
		return err
	}
	manifest, err := render(string(text), o.tag, o.dist, o.baseURL)
	if err != nil {
		return fmt.Errorf("%s: %w", o.template, err)
	}
	if err := check(manifest, o.tag); err != nil {
		return fmt.Errorf("%s rendered: %w", o.template, err)
	}
	header := "# Generated from .krew.yaml by `make krew-manifest` for the archives of\n# `make dist`. Do not edit: change .krew.yaml and run both again.\n"
	return os.WriteFile(o.out, append([]byte(header), manifest...), 0o644)
}

// distVersion reads the version goreleaser built from dist/metadata.json.
func distVersion(dist string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return "", fmt.Errorf("no goreleaser build to describe (run make dist first): %w", err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dist, "metadata.json"), err)
	}
	if meta.Version == "" {
		return "", fmt.Errorf("%s has no version", filepath.Join(dist, "metadata.json"))
	}
	return strings.TrimPrefix(meta.Version, "v"), nil
}

// templateValues are the values krew-release-bot gives a template.
type templateValues struct {
	TagName string
	Version string
}

func values(tag string) templateValues {
	v := regexp.MustCompile(`\d+(\.\d+)+`).FindString(tag)
	if v == "" {
		v = tag
	}
	return templateValues{TagName: tag, Version: v}
}

// render executes the template for tag. addURIAndSha finds each archive in
// dist by the last element of its URL.
func render(text, tag, dist, baseURL string) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			var b bytes.Buffer
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&b, values(tag)); err != nil {
				return "", err
			}
			uri := b.String()
			archive := path.Base(uri)
			sum, err := sha256File(filepath.Join(dist, archive))
			if err != nil {
				return "", err
			}
			if baseURL != "" {
				uri = strings.TrimSuffix(baseURL, "/") + "/" + archive
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	t, err := template.New("manifest").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values(tag)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("archive missing (run make dist first): %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// check catches a template that renders to something krew cannot read; krew's
// own validate-krew-manifest checks the rest (see test/krew).
func check(manifest []byte, tag string) error {
	var p struct {
		Spec struct {
			Version   string `json:"version"`
			Platforms []struct {
				URI    string `json:"uri"`
				Sha256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(manifest, &p); err != nil {
		return err
	}
	if p.Spec.Version != tag {
		return fmt.Errorf("spec.version is %q, want %q", p.Spec.Version, tag)
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("no spec.platforms")
	}
	for i, pl := range p.Spec.Platforms {
		if pl.URI == "" || pl.Sha256 == "" || pl.Bin == "" {
			return fmt.Errorf("spec.platforms[%d] lacks uri, sha256 or bin", i)
		}
	}
	return nil
}
