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
// code's first byte.
func executable(code []byte) []byte {
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
	w(uint32(5)) // R+X
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
