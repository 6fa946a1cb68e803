package supervisor

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Command is a runCommand invocation's outcome: the combined output and
// the exit code of the last command run, as the command pod of AKS reports
// them.
type Command struct {
	ExitCode int
	Logs     string
}

// maxContext bounds a runCommand context archive once unpacked.
const maxContext = 64 << 20

// RunCommand runs a runCommand command line against a cluster's API server
// as AKS's command pod does, but without a shell: the line is split into
// words (quotes and backslashes as sh reads them) and into commands joined
// by ";", "&&" and "||"; each command must be kubectl, which runs as the
// kubectl built into localaks with the cluster's admin credentials, in a
// directory holding the request's context files. Pipes and redirections
// are refused with exit code 2; other programs exit 127 (not found).
func (s *Supervisor) RunCommand(ctx context.Context, uid, resourceGroup, cluster string, port int, line string, contextZip []byte) (Command, error) {
	steps, err := parseCommandLine(line)
	if err != nil {
		return Command{ExitCode: 2, Logs: "localaks: " + err.Error() + "\n"}, nil
	}
	work, err := os.MkdirTemp("", "localaks-command-")
	if err != nil {
		return Command{}, err
	}
	defer os.RemoveAll(work)
	if len(contextZip) > 0 {
		if err := unzip(contextZip, work); err != nil {
			return Command{ExitCode: 2, Logs: "localaks: context: " + err.Error() + "\n"}, nil
		}
	}
	kc, err := Kubeconfig(string(s.Layout(uid)), RoleAdmin, resourceGroup, cluster, port)
	if err != nil {
		return Command{}, err
	}
	kcPath := filepath.Join(work, ".kubeconfig")
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		return Command{}, err
	}
	var out bytes.Buffer
	code := 0
	for i, st := range steps {
		if i > 0 {
			switch steps[i-1].op {
			case "&&":
				if code != 0 {
					continue
				}
			case "||":
				if code == 0 {
					continue
				}
			}
		}
		code, err = s.runStep(ctx, st.argv, work, kcPath, &out)
		if err != nil {
			return Command{}, err
		}
	}
	return Command{ExitCode: code, Logs: out.String()}, nil
}

func (s *Supervisor) runStep(ctx context.Context, argv []string, dir, kubeconfig string, out *bytes.Buffer) (int, error) {
	switch argv[0] {
	case "kubectl":
	case "helm":
		fmt.Fprintf(out, "sh: 1: helm: not found (localaks's runCommand runs kubectl only)\n")
		return 127, nil
	default:
		fmt.Fprintf(out, "sh: 1: %s: not found (localaks's runCommand runs kubectl only)\n", argv[0])
		return 127, nil
	}
	args := append(append([]string(nil), s.cfg.Kubectl[1:]...), argv[1:]...)
	cmd := exec.CommandContext(ctx, s.cfg.Kubectl[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return 0, err
}

type step struct {
	argv []string
	op   string // operator after this command: ";", "&&", "||" or ""
}

// parseCommandLine splits a command line into commands as sh would, for the
// subset runCommand supports.
func parseCommandLine(line string) ([]step, error) {
	var (
		steps []step
		argv  []string
		word  strings.Builder
		in    bool // a word is being built (possibly empty, from quotes)
	)
	flushWord := func() {
		if in {
			argv = append(argv, word.String())
			word.Reset()
			in = false
		}
	}
	endCommand := func(op string) error {
		flushWord()
		if len(argv) == 0 {
			return fmt.Errorf("syntax error near unexpected token %q", op)
		}
		steps = append(steps, step{argv: argv, op: op})
		argv = nil
		return nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			word.WriteString(line[i+1 : i+1+j])
			in = true
			i += j + 1
		case c == '"':
			in = true
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				word.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
		case c == '\\' && i+1 < len(line):
			i++
			if line[i] != '\n' {
				word.WriteByte(line[i])
				in = true
			}
		case c == ' ' || c == '\t' || c == '\n':
			flushWord()
		case c == ';':
			if err := endCommand(";"); err != nil {
				return nil, err
			}
		case c == '&' && i+1 < len(line) && line[i+1] == '&':
			if err := endCommand("&&"); err != nil {
				return nil, err
			}
			i++
		case c == '|' && i+1 < len(line) && line[i+1] == '|':
			if err := endCommand("||"); err != nil {
				return nil, err
			}
			i++
		case strings.IndexByte("|<>&`$()", c) >= 0:
			return nil, fmt.Errorf("%q needs a shell; runCommand runs kubectl commands without one (pipes, redirections, substitutions and background jobs are not supported)", string(c))
		default:
			word.WriteByte(c)
			in = true
		}
	}
	flushWord()
	if len(argv) > 0 {
		steps = append(steps, step{argv: argv})
	} else if len(steps) > 0 && steps[len(steps)-1].op != ";" {
		return nil, errors.New("syntax error: unexpected end of command")
	}
	if len(steps) == 0 {
		return nil, errors.New("empty command")
	}
	return steps, nil
}

// unzip extracts a runCommand context archive into dir, refusing paths
// that leave it.
func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	var total int64
	for _, f := range zr.File {
		name := filepath.Clean(filepath.FromSlash(f.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("file %q is outside the context", f.Name)
		}
		dst := filepath.Join(dir, name)
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			rc.Close()
			return err
		}
		n, err := io.Copy(w, io.LimitReader(rc, maxContext-total+1))
		rc.Close()
		w.Close()
		if err != nil {
			return err
		}
		if total += n; total > maxContext {
			return fmt.Errorf("context is larger than %d MiB unpacked", maxContext>>20)
		}
	}
	return nil
}
