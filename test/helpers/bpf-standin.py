# A stand-in for an eBPF proxy's loader (dae holds its programs while it runs): loads a traffic-control
# (sched_cls) program that passes every packet, under a given kernel name, with the process named as
# asked; optionally pins it in a bpffs so that tc can attach it. Prints "PID PROG_FD" and holds the
# program until stdin closes (or exits at once with --exit, leaving only the pin).
#
#   python3 bpf-standin.py PROCESS_NAME PROGRAM_NAME [PIN_PATH] [--exit]
import ctypes
import os
import struct
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_OBJ_PIN = 5, 6
BPF_PROG_TYPE_SCHED_CLS = 3
PR_SET_NAME = 15

args = [a for a in sys.argv[1:] if a != "--exit"]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.prctl(PR_SET_NAME, ctypes.c_char_p(args[0].encode()[:15]), 0, 0, 0)

# r0 = 0 (TC_ACT_OK); exit
insns = ctypes.create_string_buffer(bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), 16)
license_ = ctypes.create_string_buffer(b"GPL")
attr = ctypes.create_string_buffer(128)
struct.pack_into("IIQQ", attr, 0, BPF_PROG_TYPE_SCHED_CLS, 2, ctypes.addressof(insns), ctypes.addressof(license_))
struct.pack_into("16s", attr, 48, args[1].encode()[:15])
fd = libc.syscall(SYS_BPF, BPF_PROG_LOAD, attr, 128)
if fd < 0:
    sys.exit("BPF_PROG_LOAD failed: %s" % os.strerror(ctypes.get_errno()))
if len(args) > 2:
    path = ctypes.create_string_buffer(args[2].encode())
    pin = ctypes.create_string_buffer(16)
    struct.pack_into("QI", pin, 0, ctypes.addressof(path), fd)
    if libc.syscall(SYS_BPF, BPF_OBJ_PIN, pin, 16) < 0:
        sys.exit("BPF_OBJ_PIN failed: %s" % os.strerror(ctypes.get_errno()))
print(os.getpid(), fd, flush=True)
if "--exit" not in sys.argv:
    sys.stdin.read()
