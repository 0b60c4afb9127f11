package krew

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// platform is one os/arch the plugin is released for.
type platform struct{ os, arch string }

// platforms returns the six release platforms, as krew names them.
func platforms() []platform {
	return []platform{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
	}
}

func (p platform) String() string { return p.os + "/" + p.arch }

func (p platform) archive() string {
	if p.os == "windows" {
		return fmt.Sprintf("kubectl-access_%s_%s.zip", p.os, p.arch)
	}
	return fmt.Sprintf("kubectl-access_%s_%s.tar.gz", p.os, p.arch)
}

func (p platform) exe(name string) string {
	if p.os == "windows" {
		return name + ".exe"
	}
	return name
}

// TestArchives checks each release archive: its name, that it holds exactly
// the plugin, the completion helper and LICENSE, that both programs are
// built for its platform (file headers and Go build info), stripped, without
// cgo, with -trimpath, and that the plugin carries the version and commit.
func TestArchives(t *testing.T) {
	license, err := os.ReadFile(filepath.Join(env.root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	sums := readChecksums(t)
	for _, p := range platforms() {
		t.Run(p.os+"_"+p.arch, func(t *testing.T) {
			path := filepath.Join(env.dist, p.archive())
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("archive for %s missing: %v", p, err)
			}
			sum := sha256.Sum256(data)
			if got, want := hex.EncodeToString(sum[:]), sums[p.archive()]; got != want {
				t.Errorf("checksums.txt says %s of %s, the file has %s", want, p.archive(), got)
			}
			files := unpack(t, p, data)
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			want := []string{"LICENSE", p.exe("kubectl-access"), p.exe("kubectl_complete-access")}
			sort.Strings(want)
			if diff := cmp.Diff(want, names); diff != "" {
				t.Fatalf("files of %s (-want +got):\n%s", p.archive(), diff)
			}
			if !bytes.Equal(files["LICENSE"], license) {
				t.Errorf("LICENSE in %s differs from the repository's", p.archive())
			}
			for _, name := range []string{"kubectl-access", "kubectl_complete-access"} {
				bin := files[p.exe(name)]
				checkHeader(t, p, name, bin)
				checkBuildInfo(t, p, name, bin)
			}
		})
	}
}

// readChecksums reads goreleaser's checksums.txt: "SHA256  NAME" lines.
func readChecksums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(env.dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

// unpack returns the regular files of a tar.gz or zip archive by name.
func unpack(t *testing.T, p platform, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	if p.os == "windows" {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", p.archive(), err)
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name] = b
		}
		return files
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", p.archive(), err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", p.archive(), err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if strings.HasSuffix(h.Name, "kubectl-access") || strings.HasSuffix(h.Name, "kubectl_complete-access") {
			if h.Mode&0o111 == 0 {
				t.Errorf("%s in %s is not executable (mode %o)", h.Name, p.archive(), h.Mode)
			}
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	return files
}

// checkHeader checks the executable format and machine of bin, and that its
// symbol table is stripped (-s).
func checkHeader(t *testing.T, p platform, name string, bin []byte) {
	t.Helper()
	r := bytes.NewReader(bin)
	switch p.os {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("%s for %s is not ELF: %v", name, p, err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.arch]
		if f.Machine != want {
			t.Errorf("%s for %s: ELF machine %v, want %v", name, p, f.Machine, want)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s for %s has a symbol table: not stripped", name, p)
		}
		for _, sec := range f.Sections {
			if isDWARF(sec.Name) {
				t.Errorf("%s for %s has DWARF section %s: built without -w", name, p, sec.Name)
			}
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("%s for %s is not Mach-O: %v", name, p, err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[p.arch]
		if f.Cpu != want {
			t.Errorf("%s for %s: Mach-O CPU %v, want %v", name, p, f.Cpu, want)
		}
		// A stripped Mach-O binary keeps only the undefined symbols dyld
		// binds (libSystem's); any defined one means -s was not applied.
		if f.Symtab != nil {
			for _, sym := range f.Symtab.Syms {
				if sym.Type&0x0e != 0 { // N_TYPE bits other than N_UNDF
					t.Errorf("%s for %s defines symbol %s: not stripped", name, p, sym.Name)
					break
				}
			}
		}
		if f.Segment("__DWARF") != nil {
			t.Errorf("%s for %s has a __DWARF segment: built without -w", name, p)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("%s for %s is not PE: %v", name, p, err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[p.arch]
		if f.Machine != want {
			t.Errorf("%s for %s: PE machine %#x, want %#x", name, p, f.Machine, want)
		}
		if len(f.Symbols) > 0 {
			t.Errorf("%s for %s has %d symbols: not stripped", name, p, len(f.Symbols))
		}
		for _, sec := range f.Sections {
			if isDWARF(sec.Name) {
				t.Errorf("%s for %s has DWARF section %s: built without -w", name, p, sec.Name)
			}
		}
	}
}

// checkBuildInfo checks what `go version -m` would print for bin, and the
// version stamp.
func checkBuildInfo(t *testing.T, p platform, name string, bin []byte) {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s for %s: no Go build info: %v", name, p, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	wantPath := "github.com/kubectl-access/kubectl-access/cmd/" + name
	if info.Path != wantPath {
		t.Errorf("%s for %s: main package %q, want %q", name, p, info.Path, wantPath)
	}
	for key, want := range map[string]string{"GOOS": p.os, "GOARCH": p.arch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[key] != want {
			t.Errorf("%s for %s: build setting %s=%q, want %q", name, p, key, settings[key], want)
		}
	}
	// With -trimpath, Go leaves -ldflags out of the build info; the stamped
	// values are plain strings in the binary.
	if name != "kubectl-access" {
		return
	}
	for _, stamp := range []string{env.version, env.commit} {
		if !bytes.Contains(bin, []byte(stamp)) {
			t.Errorf("%s for %s does not carry %q: version not stamped", name, p, stamp)
		}
	}
}

// isDWARF reports whether an ELF or PE section holds debug information
// (Go writes .debug_*, compressed or as .zdebug_*).
func isDWARF(section string) bool {
	return strings.HasPrefix(section, ".debug") || strings.HasPrefix(section, ".zdebug")
}
