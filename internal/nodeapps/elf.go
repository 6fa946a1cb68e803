package nodeapps

import (
	"bytes"
	"encoding/binary"
)

// Two programs are so small that they are written here as x86-64 Linux
// machine code, each a static executable of one segment: the sandbox's
// pause, and a standby's. A Go program in their place would cost each
// container some 20 MiB.

// elfBase is where the segment is loaded.
const elfBase = 0x400000

// elfHeaders is the size of the ELF and program headers before the code.
const elfHeaders = 64 + 56

// executable wraps code (then data) in an ELF executable whose entry is
// code's first byte; its one segment is readable and executable.
func executable(code []byte) []byte { return elfFile(code, 5) }

// executableRWX is executable with a writable segment (the init's data).
func executableRWX(code []byte) []byte { return elfFile(code, 7) }

func elfFile(code []byte, flags uint32) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { binary.Write(&b, le, v) } //nolint:errcheck // a bytes.Buffer does not fail
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))                    // ET_EXEC
	w(uint16(0x3e))                 // EM_X86_64
	w(uint32(1))                    // EV_CURRENT
	w(uint64(elfBase + elfHeaders)) // entry
	w(uint64(64))                   // program headers
	w(uint64(0))                    // no section headers
	w(uint32(0))                    // flags
	w(uint16(64))                   // ELF header size
	w(uint16(56))                   // program header size
	w(uint16(1))                    // one program header
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	size := uint64(elfHeaders + len(code))
	w(uint32(1)) // PT_LOAD
	w(flags)
	w(uint64(0))
	w(uint64(elfBase))
	w(uint64(elfBase))
	w(size)
	w(size)
	w(uint64(0x1000))
	b.Write(code)
	return b.Bytes()
}

// PauseProgram is the sandbox's process: pause(2) forever. The pod's
// namespaces live as long as it does; containerd ends a sandbox with
// SIGKILL. (Kubernetes' own pause is a small C program that also reaps
// zombies for pods that share one PID namespace; this one leaves them to
// be reaped when the pod ends.)
func PauseProgram() []byte {
	return executable([]byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp back to mov
	})
}

// StandbyProgram writes msg to stderr, then waits until SIGTERM or SIGINT
// and exits 0 (as a container's process should when the kubelet stops
// it).
func StandbyProgram(msg string) []byte {
	// Layout: the code (handlerAt bytes, then the handler), padding to
	// actAt, the struct sigaction, then msg.
	const handlerAt, actAt = 96, 112
	code := elfBase + elfHeaders
	act, text, handler := uint64(code+actAt), uint64(code+actAt+32), uint64(code+handlerAt)
	var c bytes.Buffer
	le := binary.LittleEndian
	put := func(op []byte, v any) { c.Write(op); binary.Write(&c, le, v) } //nolint:errcheck // a bytes.Buffer does not fail
	syscall := []byte{0x0f, 0x05}
	for _, sig := range []uint32{15, 2} { // SIGTERM, SIGINT
		put([]byte{0xb8}, uint32(13))      // mov eax, rt_sigaction
		put([]byte{0xbf}, sig)             // mov edi, sig
		put([]byte{0x48, 0xbe}, act)       // mov rsi, act
		c.Write([]byte{0x31, 0xd2})        // xor edx, edx (no old action)
		put([]byte{0x41, 0xba}, uint32(8)) // mov r10d, sizeof(sigset_t)
		c.Write(syscall)
	}
	put([]byte{0xb8}, uint32(1))        // mov eax, write
	put([]byte{0xbf}, uint32(2))        // mov edi, stderr
	put([]byte{0x48, 0xbe}, text)       // mov rsi, msg
	put([]byte{0xba}, uint32(len(msg))) // mov edx, len(msg)
	c.Write(syscall)
	put([]byte{0xb8}, uint32(34)) // again: mov eax, pause
	c.Write(syscall)
	c.Write([]byte{0xeb, 0xf7}) // jmp again
	if c.Len() != handlerAt {
		panic("standby program: the code before the handler is not as laid out")
	}
	put([]byte{0xb8}, uint32(231)) // handler: mov eax, exit_group
	c.Write([]byte{0x31, 0xff})    // xor edi, edi
	c.Write(syscall)
	for c.Len() < actAt {
		c.WriteByte(0xcc)
	}
	// struct sigaction: handler, flags (SA_RESTORER, which the kernel
	// wants on x86-64; the handler never returns), restorer, mask.
	binary.Write(&c, le, []uint64{handler, 0x04000000, handler, 0}) //nolint:errcheck // a bytes.Buffer does not fail
	c.WriteString(msg)
	return executable(c.Bytes())
}

// asm is a tiny assembler: bytes, and references to labels (rel8 jumps,
// absolute 32- and 64-bit addresses), resolved at the end.
type asm struct {
	b      []byte
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at    int // where the reference goes
	size  int // 1 (rel8 from the reference's end), 4 or 8 (absolute)
	label string
}

func (a *asm) emit(b ...byte) { a.b = append(a.b, b...) }
func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.b)
}
func (a *asm) ref(size int, label string) {
	a.fixups = append(a.fixups, fixup{at: len(a.b), size: size, label: label})
	a.b = append(a.b, make([]byte, size)...)
}
func (a *asm) align(n int) {
	for len(a.b)%n != 0 {
		a.b = append(a.b, 0xcc)
	}
}

// code resolves the references, the code loaded at elfBase+elfHeaders.
func (a *asm) code() []byte {
	le := binary.LittleEndian
	for _, f := range a.fixups {
		target, ok := a.labels[f.label]
		if !ok {
			panic("asm: no label " + f.label)
		}
		abs := uint64(elfBase + elfHeaders + target)
		switch f.size {
		case 1:
			rel := target - (f.at + 1)
			if rel < -128 || rel > 127 {
				panic("asm: jump too far to " + f.label)
			}
			a.b[f.at] = byte(int8(rel))
		case 4:
			le.PutUint32(a.b[f.at:], uint32(abs))
		case 8:
			le.PutUint64(a.b[f.at:], abs)
		}
	}
	return a.b
}

// InitProgram is the first process of a real node's namespaces: run as
// `init PROGRAM ARGS...`, it starts PROGRAM ARGS... as its child, passes
// SIGTERM and SIGINT on to it, reaps every process that ends in the
// namespace (containerd's shims end up its children), and exits as the
// child did (128+signal when killed). It costs the node a few kilobytes
// where a Go init cost 40 MiB.
func InitProgram() []byte {
	var a asm
	imm32 := func(v uint32) { a.b = binary.LittleEndian.AppendUint32(a.b, v) }
	for _, sig := range []byte{15, 2} { // SIGTERM, SIGINT
		a.emit(0xb8, 13, 0, 0, 0)  // mov eax, rt_sigaction
		a.emit(0xbf, sig, 0, 0, 0) // mov edi, sig
		a.emit(0x48, 0xbe)         // mov rsi, act
		a.ref(8, "act")
		a.emit(0x31, 0xd2)             // xor edx, edx
		a.emit(0x41, 0xba, 8, 0, 0, 0) // mov r10d, sizeof(sigset_t)
		a.emit(0x0f, 0x05)             // syscall
	}
	a.emit(0xb8, 57, 0, 0, 0) // mov eax, fork
	a.emit(0x0f, 0x05)
	a.emit(0x85, 0xc0) // test eax, eax
	a.emit(0x75)       // jnz parent
	a.ref(1, "parent")
	// The child: execve(argv[1], &argv[1], envp).
	a.emit(0x48, 0x8b, 0x7c, 0x24, 0x10) // mov rdi, [rsp+16]
	a.emit(0x48, 0x8d, 0x74, 0x24, 0x10) // lea rsi, [rsp+16]
	a.emit(0x48, 0x8b, 0x04, 0x24)       // mov rax, [rsp] (argc)
	a.emit(0x48, 0x8d, 0x54, 0xc4, 0x10) // lea rdx, [rsp+rax*8+16] (envp)
	a.emit(0xb8, 59, 0, 0, 0)            // mov eax, execve
	a.emit(0x0f, 0x05)
	a.emit(0xbf, 127, 0, 0, 0) // mov edi, 127 (execve failed)
	a.emit(0xeb)               // jmp exit
	a.ref(1, "exit")
	a.label("parent")
	a.emit(0x89, 0x04, 0x25) // mov [child], eax
	a.ref(4, "child")
	a.label("wait")
	a.emit(0xb8, 61, 0, 0, 0)                        // mov eax, wait4
	a.emit(0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff) // mov rdi, -1
	a.emit(0x48, 0xbe)                               // mov rsi, status
	a.ref(8, "status")
	a.emit(0x31, 0xd2)       // xor edx, edx
	a.emit(0x45, 0x31, 0xd2) // xor r10d, r10d
	a.emit(0x0f, 0x05)
	a.emit(0x3b, 0x04, 0x25) // cmp eax, [child]
	a.ref(4, "child")
	a.emit(0x75) // jne other
	a.ref(1, "other")
	a.emit(0x8b, 0x04, 0x25) // mov eax, [status]
	a.ref(4, "status")
	a.emit(0x89, 0xc7)       // mov edi, eax
	a.emit(0x83, 0xe7, 0x7f) // and edi, 0x7f (the signal that killed it)
	a.emit(0x74)             // jz exited
	a.ref(1, "exited")
	a.emit(0x81, 0xc7) // add edi, 128
	imm32(128)
	a.emit(0xeb) // jmp exit
	a.ref(1, "exit")
	a.label("exited")
	a.emit(0xc1, 0xe8, 0x08) // shr eax, 8
	a.emit(0x0f, 0xb6, 0xf8) // movzx edi, al
	a.label("exit")
	a.emit(0xb8, 231, 0, 0, 0) // mov eax, exit_group
	a.emit(0x0f, 0x05)
	a.label("other")         // another process reaped, or interrupted: wait again
	a.emit(0x83, 0xf8, 0xf6) // cmp eax, -ECHILD
	a.emit(0x75)             // jne wait
	a.ref(1, "wait")
	a.emit(0xbf, 1, 0, 0, 0) // mov edi, 1 (no child at all)
	a.emit(0xeb)             // jmp exit
	a.ref(1, "exit")
	a.label("handler")       // edi: the signal
	a.emit(0x89, 0xfe)       // mov esi, edi
	a.emit(0x8b, 0x3c, 0x25) // mov edi, [child]
	a.ref(4, "child")
	a.emit(0x85, 0xff) // test edi, edi (not forked yet: nothing to pass on to)
	a.emit(0x74)       // jz done
	a.ref(1, "done")
	a.emit(0xb8, 62, 0, 0, 0) // mov eax, kill
	a.emit(0x0f, 0x05)
	a.label("done")
	a.emit(0xc3) // ret
	a.label("restorer")
	a.emit(0xb8, 15, 0, 0, 0) // mov eax, rt_sigreturn
	a.emit(0x0f, 0x05)
	a.align(8)
	// struct sigaction: handler, SA_RESTORER|SA_RESTART, restorer, mask.
	a.label("act")
	a.ref(8, "handler")
	a.b = binary.LittleEndian.AppendUint64(a.b, 0x04000000|0x10000000)
	a.ref(8, "restorer")
	a.b = binary.LittleEndian.AppendUint64(a.b, 0)
	a.label("child")
	imm32(0)
	a.label("status")
	imm32(0)
	return executableRWX(a.code())
}
