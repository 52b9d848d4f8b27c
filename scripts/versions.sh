# The one place where lptrig pins the Debian packages it builds on.
# Sourced by the shell scripts and read by the Makefile and the harness.
KVER=6.1.0-50-amd64
KPKGVER=6.1.176-1
# The same kernel's real-time (PREEMPT_RT) flavour: the RT guest
# (images/rt/: its own initramfs, its root file system on a disk image).
RT_KVER=6.1.0-50-rt-amd64

QEMU_DEBVER=1:7.2+dfsg-7+deb12u18
